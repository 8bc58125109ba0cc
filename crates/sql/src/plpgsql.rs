//! PL/pgSQL: the parser of a function body into statements, and the
//! interpreter that runs them.
//!
//! Why it is built this way: PL/pgSQL is a thin layer of control flow over
//! SQL, so every expression and embedded statement is a SQL statement run
//! by this crate (`prepare`/`start`) with the variables it names passed as
//! parameters: the parser replaces each variable reference by `$n` in the
//! statement's source text ([`crate::routine::substitute`]) and remembers
//! which variable (or record field) each `$n` is. A statement's prepared
//! plan is kept in the parsed function (cached per session by function
//! oid, keyed by the source) and bound again when the catalog generation
//! or a parameter's type changed. Errors get PostgreSQL's CONTEXT lines
//! (`PL/pgSQL function f(integer) line 3 at RAISE`) at the innermost
//! statement; exception blocks run on an internal subtransaction of the
//! host's transaction. Loops check the host's interrupts on every
//! iteration, so statement_timeout and cancel stop an endless loop.

// Interpreter state is tuples of plans, types and rows; naming each
// shape would add aliases used once.
#![allow(clippy::type_complexity)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use sqlparser::tokenizer::{Token, TokenWithSpan};
use tusk_common::sqlstate::{self, SqlState};
use tusk_common::{PgError, Severity};

use crate::catalog::FuncDef;
use crate::host::Host;
use crate::routine::{add_context, CallResult};
use crate::types::{self, Oid, Ty};
use crate::value::{to_text, Value};

// ---- syntax ----

/// Plans a PL/pgSQL statement's SQL, which must be one statement, with
/// the types of its parameters (the caller adds the CONTEXT line).
fn plan_single(sql: &Sql, tys: &[Oid], host: &dyn Host) -> Result<crate::Prepared, PgError> {
    let stmts = crate::parse(&sql.text)?;
    if stmts.len() != 1 {
        return Err(PgError::error(
            sqlstate::SYNTAX_ERROR,
            format!("query \"{}\" is not a single statement", sql.orig),
        ));
    }
    crate::prepare(&stmts[0], tys, host)
}

/// The `$n` number of `r` among a statement's `params`, added at the end
/// the first time it is used.
fn param_number(params: &mut Vec<ParamRef>, r: ParamRef) -> usize {
    match params.iter().position(|p| *p == r) {
        Some(p) => p + 1,
        None => {
            params.push(r);
            params.len()
        }
    }
}

/// Where a `$n` of a statement takes its value from.
#[derive(Debug, Clone, PartialEq)]
enum ParamRef {
    Var(usize),
    Field(usize, String),
}

/// A SQL statement or expression of the body, with its variables as
/// parameters and its plan once bound.
#[derive(Debug)]
struct Sql {
    text: String,
    /// The text as written (variables by name), for CONTEXT lines.
    orig: String,
    /// An expression (`SQL expression`) rather than a statement.
    is_expr: bool,
    params: Vec<ParamRef>,
    /// (plan generation, parameter types, plan, its expressions when it
    /// is a simple expression, and their compiled form when there is one:
    /// crates/sql/src/plfast.rs).
    plan: RefCell<
        Option<(
            u64,
            Vec<Oid>,
            Rc<crate::Prepared>,
            Option<Rc<crate::plfast::Simple>>,
        )>,
    >,
}

/// A row variable's field name: shared, since every call of a trigger
/// function fills NEW and OLD with the table's column names.
type FieldName = Rc<str>;

#[derive(Debug, Clone)]
enum VarType {
    Scalar(Ty),
    /// A row of known columns (%ROWTYPE).
    Row(Vec<(FieldName, Oid)>),
    /// RECORD: takes the shape of what is assigned to it.
    Record,
}

#[derive(Debug)]
struct VarDecl {
    name: String,
    ty: VarType,
    constant: bool,
    not_null: bool,
    default: Option<Sql>,
    /// A bound cursor variable's query (`c CURSOR (args) FOR query`).
    cursor: Option<Box<CursorDecl>>,
}

/// A bound cursor: its scrollability, argument variables and query.
#[derive(Debug)]
struct CursorDecl {
    scroll: Option<bool>,
    /// (name, slot) of each argument, in order.
    args: Vec<(String, usize)>,
    query: Sql,
}

/// What an OPEN opens.
#[derive(Debug)]
enum OpenWhat {
    /// A bound cursor, with its arguments as one `SELECT e AS arg, ...`.
    Bound(Option<Sql>),
    Query(Sql),
    Execute(Sql, Vec<Sql>),
}

#[derive(Debug)]
enum Target {
    Var(usize),
    Field(usize, String),
}

#[derive(Debug)]
struct Handler {
    /// SQLSTATEs or class prefixes ("22"), "OTHERS".
    conds: Vec<String>,
    body: Vec<Stmt>,
}

#[derive(Debug)]
struct Block {
    label: Option<String>,
    decls: Vec<usize>,
    body: Vec<Stmt>,
    handlers: Vec<Handler>,
    /// The handler's SQLSTATE and SQLERRM variables.
    err_vars: Option<(usize, usize)>,
}

#[derive(Debug)]
enum Stmt {
    Assign(usize, Target, Sql),
    If(usize, Vec<(Sql, Vec<Stmt>)>, Vec<Stmt>),
    Case {
        line: usize,
        subject: Option<(usize, Sql)>,
        whens: Vec<(Sql, Vec<Stmt>)>,
        else_: Option<Vec<Stmt>>,
    },
    Loop(usize, Option<String>, Vec<Stmt>),
    While(usize, Option<String>, Sql, Vec<Stmt>),
    ForInt {
        line: usize,
        label: Option<String>,
        var: usize,
        reverse: bool,
        lo: Sql,
        hi: Sql,
        by: Option<Sql>,
        body: Vec<Stmt>,
    },
    ForQuery {
        line: usize,
        label: Option<String>,
        targets: Vec<Target>,
        query: Sql,
        dynamic: Option<Vec<Sql>>,
        body: Vec<Stmt>,
    },
    Exit {
        line: usize,
        cont: bool,
        label: Option<String>,
        cond: Option<Sql>,
    },
    Return(usize, Option<Sql>),
    ReturnNext(usize, Option<Sql>),
    ReturnQuery(usize, Sql),
    /// RETURN QUERY EXECUTE text [USING ...].
    ReturnQueryExec(usize, Sql, Vec<Sql>),
    /// FOREACH target [SLICE n] IN ARRAY expr LOOP.
    Foreach {
        line: usize,
        label: Option<String>,
        targets: Vec<Target>,
        slice: i64,
        array: Sql,
        body: Vec<Stmt>,
    },
    Raise {
        line: usize,
        level: Severity,
        code: Option<String>,
        /// The message of `RAISE condition` / `RAISE SQLSTATE 'x'`.
        default_msg: String,
        fmt: Option<String>,
        args: Vec<Sql>,
        options: Vec<(String, Sql)>,
    },
    Reraise(usize),
    Perform(usize, Sql),
    Exec {
        line: usize,
        sql: Sql,
        into: Option<(Vec<Target>, bool)>,
    },
    Dynamic {
        line: usize,
        sql: Sql,
        into: Option<(Vec<Target>, bool)>,
        using: Vec<Sql>,
    },
    GetDiag(usize, bool, Vec<(usize, String)>),
    Open {
        line: usize,
        var: usize,
        scroll: Option<bool>,
        what: OpenWhat,
    },
    /// FETCH (`into` Some) or MOVE.
    Fetch {
        line: usize,
        var: usize,
        dir: crate::cursor::Direction,
        /// A count given as an expression (`FETCH RELATIVE n`): the
        /// direction's count is replaced by its value.
        count: Option<Sql>,
        into: Option<Vec<Target>>,
    },
    Close(usize, usize),
    /// FOR target IN bound_cursor [(args)] LOOP.
    ForCursor {
        line: usize,
        label: Option<String>,
        targets: Vec<Target>,
        var: usize,
        args: Option<Sql>,
        body: Vec<Stmt>,
    },
    Block(usize, Box<Block>),
    Assert(usize, Sql, Option<Sql>),
    Null,
    Transaction(usize, &'static str),
}

impl Stmt {
    fn line_kind(&self) -> (usize, &'static str) {
        match self {
            Stmt::Assign(l, ..) => (*l, "assignment"),
            Stmt::If(l, ..) => (*l, "IF"),
            Stmt::Case { line, .. } => (*line, "CASE"),
            Stmt::Loop(l, ..) => (*l, "LOOP"),
            Stmt::While(l, ..) => (*l, "WHILE"),
            Stmt::ForInt { line, .. } => (*line, "FOR with integer loop variable"),
            Stmt::ForQuery { line, dynamic, .. } => (
                *line,
                if dynamic.is_some() {
                    "FOR over EXECUTE statement"
                } else {
                    "FOR over SELECT rows"
                },
            ),
            Stmt::Exit { line, cont, .. } => (*line, if *cont { "CONTINUE" } else { "EXIT" }),
            Stmt::Return(l, _) => (*l, "RETURN"),
            Stmt::ReturnNext(l, _) => (*l, "RETURN NEXT"),
            Stmt::ReturnQuery(l, _) | Stmt::ReturnQueryExec(l, ..) => (*l, "RETURN QUERY"),
            Stmt::Foreach { line, .. } => (*line, "FOREACH over array"),
            Stmt::Raise { line, .. } | Stmt::Reraise(line) => (*line, "RAISE"),
            Stmt::Perform(l, _) => (*l, "PERFORM"),
            Stmt::Exec { line, .. } => (*line, "SQL statement"),
            Stmt::Dynamic { line, .. } => (*line, "EXECUTE"),
            Stmt::GetDiag(l, stacked, _) => (
                *l,
                if *stacked {
                    "GET STACKED DIAGNOSTICS"
                } else {
                    "GET DIAGNOSTICS"
                },
            ),
            Stmt::Block(l, _) => (*l, "statement block"),
            Stmt::Open { line, .. } => (*line, "OPEN"),
            Stmt::Fetch {
                line, into: None, ..
            } => (*line, "MOVE"),
            Stmt::Fetch { line, .. } => (*line, "FETCH"),
            Stmt::Close(l, _) => (*l, "CLOSE"),
            Stmt::ForCursor { line, .. } => (*line, "FOR over cursor"),
            Stmt::Assert(l, ..) => (*l, "ASSERT"),
            Stmt::Null => (0, "NULL"),
            Stmt::Transaction(l, k) => (*l, k),
        }
    }
}

/// A parsed function.
#[derive(Debug)]
pub(crate) struct Function {
    vars: Vec<VarDecl>,
    block: Block,
    /// Slots of the arguments, in order.
    args: Vec<usize>,
    /// RETURNS TABLE's column variables.
    outs: Vec<usize>,
    found: usize,
    /// A trigger function's NEW, OLD and TG_* variables.
    trig: Option<TrigSlots>,
}

/// Slots of a trigger function's special variables, in the order
/// [`crate::trigger::TrigCall`] fills them.
#[derive(Debug)]
struct TrigSlots {
    new: usize,
    old: usize,
    /// tg_name, tg_when, tg_level, tg_op, tg_relid, tg_relname,
    /// tg_table_name, tg_table_schema, tg_nargs.
    scalars: [usize; 9],
    /// Which of `scalars` the body names: only those are set per call
    /// (a variable no statement names cannot be observed, and most are
    /// strings to allocate for every row).
    used: [bool; 9],
}

thread_local! {
    /// The name of the function being compiled, for CONTEXT lines.
    static COMPILING: RefCell<String> = const { RefCell::new(String::new()) };
}

fn compile_context(line: usize) -> String {
    COMPILING.with(|c| {
        format!(
            "compilation of PL/pgSQL function \"{}\" near line {line}",
            c.borrow()
        )
    })
}

fn syntax_err(msg: impl Into<String>, line: usize) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg).with_context(compile_context(line))
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<TokenWithSpan>,
    /// Byte offset of each line's start.
    lines: Vec<usize>,
    i: usize,
    vars: Vec<VarDecl>,
    /// Visible names, innermost scope last.
    scopes: Vec<Vec<(String, usize)>>,
    /// Block labels (and the function's name, the outermost block's
    /// label) with the depth of the scope they name: `label.var`.
    labels: Vec<(usize, String)>,
    host: &'a dyn Host,
    /// A trigger function: `TG_ARGV[i]` is read through the running
    /// trigger's arguments.
    trigger: bool,
    /// Every slot a name of the body resolved to.
    used: RefCell<std::collections::HashSet<usize>>,
}

fn is_sig(t: &Token) -> bool {
    !matches!(t, Token::Whitespace(_) | Token::EOF)
}

fn kw(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

impl<'a> Parser<'a> {
    fn byte_at(&self, idx: usize) -> usize {
        match self.toks.get(idx) {
            Some(t) if t.span.start.line > 0 => {
                let line_start =
                    self.lines[(t.span.start.line as usize - 1).min(self.lines.len() - 1)];
                let col = t.span.start.column as usize - 1;
                self.src[line_start..]
                    .char_indices()
                    .nth(col)
                    .map(|(b, _)| line_start + b)
                    .unwrap_or(self.src.len())
            }
            _ => self.src.len(),
        }
    }
    fn skip_ws(&mut self) {
        while self.i < self.toks.len() && !is_sig(&self.toks[self.i].token) {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<&Token> {
        self.skip_ws();
        self.toks.get(self.i).map(|t| &t.token)
    }
    fn peek_kw(&mut self) -> Option<String> {
        self.peek().and_then(kw)
    }
    /// The significant token after the next one.
    fn peek2(&mut self) -> Option<Token> {
        self.skip_ws();
        let mut j = self.i + 1;
        while j < self.toks.len() && !is_sig(&self.toks[j].token) {
            j += 1;
        }
        self.toks.get(j).map(|t| t.token.clone())
    }
    fn line(&mut self) -> usize {
        self.skip_ws();
        self.toks
            .get(self.i)
            .map_or(0, |t| t.span.start.line as usize)
    }
    fn next(&mut self) -> Option<Token> {
        self.skip_ws();
        let t = self.toks.get(self.i).map(|t| t.token.clone());
        self.i += 1;
        t
    }
    fn eat_kw(&mut self, k: &str) -> bool {
        if self.peek_kw().as_deref() == Some(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn err_here(&mut self) -> PgError {
        let line = self.line();
        match self.peek().cloned() {
            Some(Token::EOF) | None => syntax_err("syntax error at end of input", line),
            Some(t) => syntax_err(format!("syntax error at or near \"{t}\""), line),
        }
    }
    fn expect_kw(&mut self, k: &str) -> Result<(), PgError> {
        if self.eat_kw(k) {
            Ok(())
        } else {
            Err(self.err_here())
        }
    }
    fn expect_semi(&mut self) -> Result<(), PgError> {
        if self.peek() == Some(&Token::SemiColon) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err_here())
        }
    }
    fn ident(&mut self) -> Result<String, PgError> {
        match self.peek().cloned() {
            Some(Token::Word(w)) => {
                self.i += 1;
                Ok(if w.quote_style.is_some() {
                    w.value
                } else {
                    w.value.to_lowercase()
                })
            }
            _ => Err(self.err_here()),
        }
    }
    fn lookup(&self, name: &str) -> Option<usize> {
        let slot = self
            .scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| n == name)
            .map(|(_, i)| *i)?;
        self.used.borrow_mut().insert(slot);
        Some(slot)
    }
    fn declare(&mut self, name: &str, ty: VarType) -> usize {
        self.vars.push(VarDecl {
            name: name.to_string(),
            ty,
            constant: false,
            not_null: false,
            default: None,
            cursor: None,
        });
        let slot = self.vars.len() - 1;
        self.scopes
            .last_mut()
            .expect("a scope")
            .push((name.to_string(), slot));
        slot
    }

    /// Source text from token `from` up to (not including) the
    /// significant token at which `stop` holds at nesting depth 0
    /// (parentheses, CASE ... END); the cursor is left on that token.
    fn text_until(
        &mut self,
        stop: &dyn Fn(&Token, Option<&Token>) -> bool,
    ) -> Result<String, PgError> {
        self.skip_ws();
        let start = self.i;
        let mut depth = 0i32;
        let mut case_depth = 0i32;
        loop {
            self.skip_ws();
            let Some(t) = self.toks.get(self.i).map(|t| t.token.clone()) else {
                return Err(syntax_err("syntax error at end of input", self.line()));
            };
            if matches!(t, Token::EOF) {
                return Err(syntax_err("syntax error at end of input", self.line()));
            }
            let next = self.peek2();
            if depth == 0 && case_depth == 0 && stop(&t, next.as_ref()) {
                break;
            }
            match &t {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket => depth -= 1,
                _ => {}
            }
            match kw(&t).as_deref() {
                Some("CASE") => case_depth += 1,
                Some("END") if case_depth > 0 => case_depth -= 1,
                _ => {}
            }
            self.i += 1;
        }
        let (a, b) = (self.byte_at(start), self.byte_at(self.i));
        Ok(self.src[a..b.max(a)].trim().to_string())
    }

    /// A statement's text with variables replaced by `$n`.
    fn sql(&self, text: &str) -> Sql {
        let mut params: Vec<ParamRef> = Vec::new();
        let vars = &self.vars;
        let argv;
        let run_text = if self.trigger {
            argv = crate::trigger::rewrite_tg_argv(text);
            argv.as_str()
        } else {
            text
        };
        let to_ref = |slot: usize, field: Option<&str>| match (&vars[slot].ty, field) {
            (VarType::Scalar(_), _) | (_, None) => ParamRef::Var(slot),
            (_, Some(f)) => ParamRef::Field(slot, f.to_string()),
        };
        let out = substitute_vars(
            run_text,
            &|name, field| Some(to_ref(self.lookup(name)?, field)),
            &|label, name, field| {
                let depth = self.labels.iter().rev().find(|(_, l)| l == label)?.0;
                let slot = self
                    .scopes
                    .get(depth)?
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)?
                    .1;
                Some(to_ref(slot, field))
            },
            &mut params,
        );
        Sql {
            text: out,
            orig: text.to_string(),
            is_expr: false,
            params,
            plan: RefCell::new(None),
        }
    }
    fn expr(&self, text: &str) -> Sql {
        let mut s = self.sql(&format!("SELECT {text}"));
        s.orig = text.to_string();
        s.is_expr = true;
        s
    }

    /// The rest of `name [[NO] SCROLL] CURSOR [(arg type, ...)] FOR|IS
    /// query;`: a refcursor variable whose value is its own name (the
    /// portal OPEN creates), its arguments visible only in its query.
    fn cursor_decl(&mut self, name: &str, scroll: Option<bool>) -> Result<usize, PgError> {
        let mut args = Vec::new();
        self.scopes.push(Vec::new());
        if self.peek() == Some(&Token::LParen) {
            self.i += 1;
            loop {
                let a = self.ident()?;
                let t = self.text_until(&|t, _| matches!(t, Token::Comma | Token::RParen))?;
                let ty = self.resolve_type(&t)?;
                let slot = self.declare(&a, ty);
                args.push((a, slot));
                match self.next() {
                    Some(Token::Comma) => continue,
                    Some(Token::RParen) => break,
                    _ => return Err(self.err_here()),
                }
            }
        }
        if !self.eat_kw("FOR") {
            self.expect_kw("IS")?;
        }
        let text = self.text_until(&|t, _| *t == Token::SemiColon);
        let query = text.map(|t| self.sql(&t));
        self.scopes.pop();
        let query = query?;
        self.expect_semi()?;
        let slot = self.declare(name, VarType::Scalar(Ty::new(types::REFCURSOR)));
        self.vars[slot].default = Some(self.expr(&crate::routine::quote_literal(name)));
        self.vars[slot].cursor = Some(Box::new(CursorDecl {
            scroll,
            args,
            query,
        }));
        Ok(slot)
    }

    /// A cursor variable named by OPEN, FETCH, MOVE, CLOSE.
    fn cursor_var(&mut self, line: usize) -> Result<usize, PgError> {
        let name = match self.peek().cloned() {
            Some(Token::Placeholder(p)) => {
                self.i += 1;
                p
            }
            _ => self.ident()?,
        };
        let Some(slot) = self.lookup(&name) else {
            return Err(syntax_err(
                format!("\"{name}\" is not a known variable"),
                line,
            ));
        };
        if !matches!(&self.vars[slot].ty, VarType::Scalar(t) if t.oid == types::REFCURSOR) {
            return Err(syntax_err(
                format!("variable \"{name}\" must be of type cursor or refcursor"),
                line,
            ));
        }
        Ok(slot)
    }

    /// A bound cursor's arguments `(e, name := e, ...)` as one
    /// `SELECT e AS arg1, e AS arg2` in declaration order (PostgreSQL
    /// evaluates them as one expression); None without arguments.
    fn cursor_args(&mut self, var: usize, line: usize) -> Result<Option<Sql>, PgError> {
        let cname = self.vars[var].name.clone();
        let names: Vec<String> = match &self.vars[var].cursor {
            Some(c) => c.args.iter().map(|(n, _)| n.clone()).collect(),
            None => Vec::new(),
        };
        if self.peek() != Some(&Token::LParen) {
            if !names.is_empty() {
                return Err(syntax_err(
                    format!("cursor \"{cname}\" has arguments"),
                    line,
                ));
            }
            return Ok(None);
        }
        if names.is_empty() {
            return Err(syntax_err(
                format!("cursor \"{cname}\" has no arguments"),
                line,
            ));
        }
        self.i += 1;
        let mut vals: Vec<Option<String>> = vec![None; names.len()];
        let mut pos = 0usize;
        let mut any_named = false;
        loop {
            // `name := expr` (or `name => expr`, which PostgreSQL's
            // PL/pgSQL refuses here) or a positional expression.
            let named = match (self.peek().cloned(), self.peek2()) {
                (Some(Token::Word(w)), Some(Token::Assignment)) => {
                    self.i += 1;
                    self.skip_ws();
                    self.i += 1;
                    Some(w.value.to_lowercase())
                }
                (Some(Token::Word(_)), Some(Token::RArrow)) => {
                    self.i += 1;
                    return Err(self.err_here());
                }
                _ => None,
            };
            let e = self.text_until(&|t, _| matches!(t, Token::Comma | Token::RParen))?;
            any_named |= named.is_some();
            let k = match named {
                Some(n) => names.iter().position(|a| *a == n).ok_or_else(|| {
                    syntax_err(
                        format!("cursor \"{cname}\" has no argument named \"{n}\""),
                        line,
                    )
                })?,
                None => {
                    if pos >= names.len() {
                        return Err(syntax_err(
                            format!("too many arguments for cursor \"{cname}\""),
                            line,
                        ));
                    }
                    pos += 1;
                    pos - 1
                }
            };
            if vals[k].is_some() {
                return Err(syntax_err(
                    format!(
                        "value for parameter \"{}\" of cursor \"{cname}\" specified more than once",
                        names[k]
                    ),
                    line,
                ));
            }
            vals[k] = Some(e);
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::RParen) => break,
                _ => return Err(self.err_here()),
            }
        }
        if vals.iter().any(Option::is_none) {
            return Err(syntax_err(
                format!("not enough arguments for cursor \"{cname}\""),
                line,
            ));
        }
        let list: Vec<String> = vals
            .into_iter()
            .zip(&names)
            .map(|(v, n)| {
                let v = v.unwrap_or_default();
                if any_named {
                    format!("{v} AS {}", crate::routine::quote_ident(n))
                } else {
                    v
                }
            })
            .collect();
        Ok(Some(self.expr(&list.join(", "))))
    }

    /// FETCH/MOVE's direction: the direction, and a count expression
    /// when one was written (ABSOLUTE n, RELATIVE n, FORWARD n, BACKWARD n).
    fn fetch_direction(&mut self) -> Result<(crate::cursor::Direction, Option<Sql>), PgError> {
        use crate::cursor::Direction as D;
        let is_from =
            |t: &Token, _: Option<&Token>| matches!(kw(t).as_deref(), Some("FROM" | "IN"));
        let word = self.peek_kw();
        let counted = |p: &mut Self, d: D| -> Result<(D, Option<Sql>), PgError> {
            let e = p.text_until(&is_from)?;
            Ok((d, Some(p.expr(&e))))
        };
        Ok(match word.as_deref() {
            Some("NEXT") => {
                self.i += 1;
                (D::Forward(1), None)
            }
            Some("PRIOR") => {
                self.i += 1;
                (D::Backward(1), None)
            }
            Some("FIRST") => {
                self.i += 1;
                (D::Absolute(1), None)
            }
            Some("LAST") => {
                self.i += 1;
                (D::Absolute(-1), None)
            }
            Some("ABSOLUTE") => {
                self.i += 1;
                counted(self, D::Absolute(0))?
            }
            Some("RELATIVE") => {
                self.i += 1;
                counted(self, D::Relative(0))?
            }
            Some(w @ ("FORWARD" | "BACKWARD")) => {
                let fwd = w == "FORWARD";
                self.i += 1;
                if self.eat_kw("ALL") {
                    (
                        if fwd {
                            D::Forward(i64::MAX)
                        } else {
                            D::Backward(i64::MAX)
                        },
                        None,
                    )
                } else if matches!(self.peek_kw().as_deref(), Some("FROM" | "IN")) {
                    (if fwd { D::Forward(1) } else { D::Backward(1) }, None)
                } else {
                    counted(self, if fwd { D::Forward(0) } else { D::Backward(0) })?
                }
            }
            _ => (D::Forward(1), None),
        })
    }

    fn label(&mut self) -> Result<Option<String>, PgError> {
        if self.peek() == Some(&Token::ShiftLeft) {
            self.i += 1;
            let l = self.ident()?;
            if self.next() != Some(Token::ShiftRight) {
                return Err(self.err_here());
            }
            Ok(Some(l))
        } else {
            Ok(None)
        }
    }

    fn resolve_type(&mut self, text: &str) -> Result<VarType, PgError> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        if lower == "record" {
            return Ok(VarType::Record);
        }
        if let Some(base) = lower.strip_suffix("%rowtype") {
            let parts: Vec<&str> = base.trim().split('.').collect();
            let (schema, name) = match parts.as_slice() {
                [n] => (None, *n),
                [s, n] => (Some(*s), *n),
                _ => return Err(syntax_err(format!("invalid type name \"{t}\""), 0)),
            };
            let rel = crate::catalog::lookup(self.host, schema, name)?;
            return Ok(VarType::Row(
                rel.columns
                    .iter()
                    .map(|c| (FieldName::from(c.name.as_str()), c.ty.oid))
                    .collect(),
            ));
        }
        if let Some(base) = lower.strip_suffix("%type") {
            let parts: Vec<&str> = base.trim().split('.').collect();
            if let [v] = parts.as_slice() {
                if let Some(slot) = self.lookup(v) {
                    return Ok(self.vars[slot].ty.clone());
                }
            }
            let (schema, table, col) = match parts.as_slice() {
                [t, c] => (None, *t, *c),
                [s, t, c] => (Some(*s), *t, *c),
                _ => {
                    return Err(PgError::error(
                        crate::routine::codes::UNDEFINED_OBJECT,
                        format!("type \"{t}\" does not exist"),
                    ))
                }
            };
            let rel = crate::catalog::lookup(self.host, schema, table)?;
            let c = rel.columns.iter().find(|c| c.name == col).ok_or_else(|| {
                PgError::error(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{col}\" of relation \"{table}\" does not exist"),
                )
            })?;
            return Ok(VarType::Scalar(c.ty));
        }
        Ok(VarType::Scalar(crate::routine::resolve_type(self.host, t)?))
    }

    fn declarations(&mut self, decls: &mut Vec<usize>) -> Result<(), PgError> {
        loop {
            match self.peek_kw().as_deref() {
                Some("BEGIN") | None => return Ok(()),
                Some("DECLARE") => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            if self.peek() == Some(&Token::ShiftLeft) {
                return Ok(());
            }
            let line = self.line();
            let name = self.ident()?;
            if self.eat_kw("ALIAS") {
                self.expect_kw("FOR")?;
                let target = self.text_until(&|t, _| *t == Token::SemiColon)?;
                self.expect_semi()?;
                let slot = match target
                    .strip_prefix('$')
                    .and_then(|n| n.parse::<usize>().ok())
                {
                    Some(n) => self.scopes[0]
                        .iter()
                        .filter(|(n, _)| n.starts_with('$'))
                        .nth(n - 1)
                        .map(|(_, s)| *s),
                    None => self.lookup(&target.to_lowercase()),
                };
                let Some(slot) = slot else {
                    return Err(syntax_err(
                        format!("variable \"{target}\" does not exist"),
                        line,
                    ));
                };
                self.scopes.last_mut().expect("scope").push((name, slot));
                continue;
            }
            let constant = self.eat_kw("CONSTANT");
            let scroll = if self.peek_kw().as_deref() == Some("NO")
                && self.peek2().as_ref().and_then(kw).as_deref() == Some("SCROLL")
            {
                self.i += 1;
                self.expect_kw("SCROLL")?;
                Some(false)
            } else if self.eat_kw("SCROLL") {
                Some(true)
            } else {
                None
            };
            if scroll.is_some() || self.peek_kw().as_deref() == Some("CURSOR") {
                self.expect_kw("CURSOR")?;
                let slot = self.cursor_decl(&name, scroll)?;
                decls.push(slot);
                continue;
            }
            let ty_text = self.text_until(&|t, n| {
                *t == Token::SemiColon
                    || *t == Token::Assignment
                    || *t == Token::Eq
                    || matches!(kw(t).as_deref(), Some("DEFAULT" | "COLLATE"))
                    || (kw(t).as_deref() == Some("NOT")
                        && n.and_then(kw).as_deref() == Some("NULL"))
            })?;
            let ty = self.resolve_type(&ty_text)?;
            let mut not_null = false;
            if self.eat_kw("NOT") {
                self.expect_kw("NULL")?;
                not_null = true;
            }
            let default = if matches!(self.peek(), Some(Token::Assignment) | Some(Token::Eq))
                || self.peek_kw().as_deref() == Some("DEFAULT")
            {
                self.i += 1;
                let e = self.text_until(&|t, _| *t == Token::SemiColon)?;
                Some(self.expr(&e))
            } else {
                None
            };
            self.expect_semi()?;
            if not_null && default.is_none() {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    format!("variable \"{name}\" must have a default value, since it's declared NOT NULL"),
                ));
            }
            let slot = self.declare(&name, ty);
            self.vars[slot].constant = constant;
            self.vars[slot].not_null = not_null;
            self.vars[slot].default = default;
            decls.push(slot);
        }
    }

    /// `[<<label>>] [DECLARE ...] BEGIN ... [EXCEPTION ...] END [label]`
    fn block(&mut self, label: Option<String>) -> Result<Block, PgError> {
        self.scopes.push(Vec::new());
        if let Some(l) = &label {
            self.labels.push((self.scopes.len() - 1, l.clone()));
        }
        let mut decls = Vec::new();
        self.declarations(&mut decls)?;
        self.expect_kw("BEGIN")?;
        let body = self.stmts(&["EXCEPTION", "END"])?;
        let mut handlers = Vec::new();
        let mut err_vars = None;
        if self.eat_kw("EXCEPTION") {
            self.scopes.push(Vec::new());
            let st = self.declare("sqlstate", VarType::Scalar(Ty::new(types::TEXT)));
            let em = self.declare("sqlerrm", VarType::Scalar(Ty::new(types::TEXT)));
            err_vars = Some((st, em));
            while self.eat_kw("WHEN") {
                let mut conds = Vec::new();
                loop {
                    if self.eat_kw("SQLSTATE") {
                        match self.next() {
                            Some(Token::SingleQuotedString(s)) => conds.push(s),
                            _ => return Err(self.err_here()),
                        }
                    } else {
                        let line = self.line();
                        let n = self.ident()?;
                        if n == "others" {
                            conds.push("OTHERS".into());
                        } else {
                            match condition_code(&n) {
                                Some(c) => conds.push(c.to_string()),
                                None => {
                                    return Err(PgError::error(
                                        crate::routine::codes::UNDEFINED_OBJECT,
                                        format!("unrecognized exception condition \"{n}\""),
                                    )
                                    .with_context(compile_context(line)))
                                }
                            }
                        }
                    }
                    if !self.eat_kw("OR") {
                        break;
                    }
                }
                self.expect_kw("THEN")?;
                let body = self.stmts(&["WHEN", "END"])?;
                handlers.push(Handler { conds, body });
            }
            self.scopes.pop();
        }
        self.expect_kw("END")?;
        if matches!(self.peek(), Some(Token::Word(_))) {
            self.ident()?;
        }
        self.scopes.pop();
        let depth = self.scopes.len();
        self.labels.retain(|(d, _)| *d < depth);
        Ok(Block {
            label,
            decls,
            body,
            handlers,
            err_vars,
        })
    }

    fn stmts(&mut self, ends: &[&str]) -> Result<Vec<Stmt>, PgError> {
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None | Some(Token::EOF) => {
                    return Err(syntax_err("syntax error at end of input", self.line()))
                }
                _ => {}
            }
            if let Some(k) = self.peek_kw() {
                if ends.contains(&k.as_str()) {
                    return Ok(out);
                }
            }
            out.push(self.stmt()?);
        }
    }

    fn targets(&mut self, text: &str) -> Result<Vec<Target>, PgError> {
        let mut out = Vec::new();
        for t in text.split(',') {
            let t = t.trim();
            let lower = t.to_lowercase();
            let (v, f) = match lower.split_once('.') {
                Some((v, f)) => (v.trim().to_string(), Some(f.trim().to_string())),
                None => (lower.clone(), None),
            };
            let slot = self.lookup(&v).ok_or_else(|| {
                syntax_err(
                    format!("\"{t}\" is not a known variable"),
                    self.toks
                        .get(self.i)
                        .map_or(0, |x| x.span.start.line as usize),
                )
            })?;
            out.push(match f {
                Some(f) => Target::Field(slot, f),
                None => Target::Var(slot),
            });
        }
        Ok(out)
    }

    fn stmt(&mut self) -> Result<Stmt, PgError> {
        let line = self.line();
        let label = self.label()?;
        let k = self.peek_kw().unwrap_or_default();
        // An assignment: `name [.field] := expr;`
        let second = self.peek2();
        if matches!(self.peek(), Some(Token::Word(_)))
            && label.is_none()
            && (matches!(
                second,
                Some(Token::Assignment) | Some(Token::Eq) | Some(Token::Period)
            ))
            && !matches!(k.as_str(), "RETURN" | "PERFORM" | "RAISE")
        {
            let start = self.i;
            let target = self.text_until(&|t, _| matches!(t, Token::Assignment | Token::Eq))?;
            if !target.contains(' ') {
                self.i += 1;
                let e = self.text_until(&|t, _| *t == Token::SemiColon)?;
                self.expect_semi()?;
                let mut ts = self.targets(&target)?;
                let t = ts.remove(0);
                if let Target::Var(s) = t {
                    if self.vars[s].constant {
                        return Err(syntax_err(
                            format!("variable \"{}\" is declared CONSTANT", self.vars[s].name),
                            line,
                        ));
                    }
                }
                return Ok(Stmt::Assign(line, t, self.expr(&e)));
            }
            self.i = start;
        }
        match k.as_str() {
            "DECLARE" | "BEGIN" => {
                let b = self.block(label)?;
                self.expect_semi()?;
                Ok(Stmt::Block(line, Box::new(b)))
            }
            "IF" => {
                self.i += 1;
                let mut arms = Vec::new();
                let mut else_ = Vec::new();
                let c = self.text_until(&|t, _| kw(t).as_deref() == Some("THEN"))?;
                self.i += 1;
                let body = self.stmts(&["ELSIF", "ELSEIF", "ELSE", "END"])?;
                arms.push((self.expr(&c), body));
                loop {
                    if self.eat_kw("ELSIF") || self.eat_kw("ELSEIF") {
                        let c = self.text_until(&|t, _| kw(t).as_deref() == Some("THEN"))?;
                        self.i += 1;
                        let body = self.stmts(&["ELSIF", "ELSEIF", "ELSE", "END"])?;
                        arms.push((self.expr(&c), body));
                    } else if self.eat_kw("ELSE") {
                        else_ = self.stmts(&["END"])?;
                    } else {
                        break;
                    }
                }
                self.expect_kw("END")?;
                self.expect_kw("IF")?;
                self.expect_semi()?;
                Ok(Stmt::If(line, arms, else_))
            }
            "CASE" => {
                self.i += 1;
                let subject = if self.peek_kw().as_deref() != Some("WHEN") {
                    let e = self.text_until(&|t, _| kw(t).as_deref() == Some("WHEN"))?;
                    self.scopes.push(Vec::new());
                    let slot = self.declare("__case__", VarType::Scalar(Ty::new(types::UNKNOWN)));
                    Some((slot, self.expr(&e)))
                } else {
                    None
                };
                let mut whens = Vec::new();
                while self.eat_kw("WHEN") {
                    let e = self.text_until(&|t, _| kw(t).as_deref() == Some("THEN"))?;
                    self.i += 1;
                    let cond = match &subject {
                        Some(_) => self.expr(&format!("__case__ IN ({e})")),
                        None => self.expr(&e),
                    };
                    let body = self.stmts(&["WHEN", "ELSE", "END"])?;
                    whens.push((cond, body));
                }
                let else_ = if self.eat_kw("ELSE") {
                    Some(self.stmts(&["END"])?)
                } else {
                    None
                };
                if subject.is_some() {
                    self.scopes.pop();
                }
                self.expect_kw("END")?;
                self.expect_kw("CASE")?;
                self.expect_semi()?;
                Ok(Stmt::Case {
                    line,
                    subject,
                    whens,
                    else_,
                })
            }
            "LOOP" => {
                self.i += 1;
                let body = self.loop_body()?;
                Ok(Stmt::Loop(line, label, body))
            }
            "WHILE" => {
                self.i += 1;
                let c = self.text_until(&|t, _| kw(t).as_deref() == Some("LOOP"))?;
                self.i += 1;
                let cond = self.expr(&c);
                let body = self.loop_body()?;
                Ok(Stmt::While(line, label, cond, body))
            }
            "FOR" => {
                self.i += 1;
                let vars_text = self.text_until(&|t, _| kw(t).as_deref() == Some("IN"))?;
                self.i += 1;
                let reverse = self.eat_kw("REVERSE");
                let dynamic = self.eat_kw("EXECUTE");
                // FOR rec IN cursor_var [(args)] LOOP: the loop variable
                // is a record of the loop's own scope.
                let cursor = match (self.peek().cloned(), self.peek2()) {
                    (Some(Token::Word(w)), Some(n))
                        if !dynamic
                            && !reverse
                            && (n == Token::LParen || kw(&n).as_deref() == Some("LOOP")) =>
                    {
                        let name = if w.quote_style.is_some() {
                            w.value.clone()
                        } else {
                            w.value.to_lowercase()
                        };
                        self.lookup(&name).filter(|&s| {
                            matches!(&self.vars[s].ty, VarType::Scalar(t) if t.oid == types::REFCURSOR)
                        })
                    }
                    _ => None,
                };
                if let Some(var) = cursor {
                    self.i += 1;
                    if self.vars[var].cursor.is_none() {
                        return Err(syntax_err(
                            "cursor FOR loop must use a bound cursor variable",
                            line,
                        ));
                    }
                    let args = self.cursor_args(var, line)?;
                    self.expect_kw("LOOP")?;
                    self.scopes.push(Vec::new());
                    let rec = self.declare(&vars_text.trim().to_lowercase(), VarType::Record);
                    let body = self.loop_body();
                    self.scopes.pop();
                    return Ok(Stmt::ForCursor {
                        line,
                        label,
                        targets: vec![Target::Var(rec)],
                        var,
                        args,
                        body: body?,
                    });
                }
                let header = self.text_until(&|t, _| kw(t).as_deref() == Some("LOOP"))?;
                self.i += 1;
                if !dynamic && header_has_range(&header) {
                    let (lo, rest) = split_range(&header);
                    let (hi, by) = split_by(&rest);
                    self.scopes.push(Vec::new());
                    let lo = self.expr(&lo);
                    let hi = self.expr(&hi);
                    let by = by.map(|b| self.expr(&b));
                    let var = self.declare(
                        &vars_text.trim().to_lowercase(),
                        VarType::Scalar(Ty::new(types::INT4)),
                    );
                    let body = self.loop_body();
                    self.scopes.pop();
                    return Ok(Stmt::ForInt {
                        line,
                        label,
                        var,
                        reverse,
                        lo,
                        hi,
                        by,
                        body: body?,
                    });
                }
                let targets = self.targets(&vars_text)?;
                let (query, dynamic) = if dynamic {
                    let (e, using) = split_using(&header);
                    let using = using.iter().map(|u| self.expr(u)).collect();
                    (self.expr(&e), Some(using))
                } else {
                    (self.sql(&header), None)
                };
                let body = self.loop_body()?;
                Ok(Stmt::ForQuery {
                    line,
                    label,
                    targets,
                    query,
                    dynamic,
                    body,
                })
            }
            "OPEN" => {
                self.i += 1;
                let var = self.cursor_var(line)?;
                if self.vars[var].cursor.is_some() {
                    let args = self.cursor_args(var, line)?;
                    self.expect_semi()?;
                    return Ok(Stmt::Open {
                        line,
                        var,
                        scroll: None,
                        what: OpenWhat::Bound(args),
                    });
                }
                let scroll = if self.peek_kw().as_deref() == Some("NO") {
                    self.i += 1;
                    self.expect_kw("SCROLL")?;
                    Some(false)
                } else if self.eat_kw("SCROLL") {
                    Some(true)
                } else {
                    None
                };
                self.expect_kw("FOR")?;
                let what = if self.eat_kw("EXECUTE") {
                    let h = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    let (e, using) = split_using(&h);
                    let using = using.iter().map(|u| self.expr(u)).collect();
                    OpenWhat::Execute(self.expr(&e), using)
                } else {
                    let q = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    OpenWhat::Query(self.sql(&q))
                };
                self.expect_semi()?;
                Ok(Stmt::Open {
                    line,
                    var,
                    scroll,
                    what,
                })
            }
            "FETCH" | "MOVE" => {
                self.i += 1;
                let (dir, count) = self.fetch_direction()?;
                if !self.eat_kw("FROM") {
                    self.eat_kw("IN");
                }
                let var = self.cursor_var(line)?;
                let into = if k == "FETCH" {
                    self.expect_kw("INTO")?;
                    let t = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    Some(self.targets(&t)?)
                } else {
                    None
                };
                self.expect_semi()?;
                Ok(Stmt::Fetch {
                    line,
                    var,
                    dir,
                    count,
                    into,
                })
            }
            "CLOSE" => {
                self.i += 1;
                let var = self.cursor_var(line)?;
                self.expect_semi()?;
                Ok(Stmt::Close(line, var))
            }
            "FOREACH" => {
                self.i += 1;
                let vars_text = self
                    .text_until(&|t, _| matches!(kw(t).as_deref(), Some("IN") | Some("SLICE")))?;
                let slice = if self.eat_kw("SLICE") {
                    match self.next() {
                        Some(Token::Number(n, _)) => n.parse::<i64>().map_err(|_| {
                            syntax_err(format!("syntax error at or near \"{n}\""), line)
                        })?,
                        Some(Token::Minus) => match self.next() {
                            Some(Token::Number(n, _)) => -n.parse::<i64>().unwrap_or(0),
                            _ => return Err(self.err_here()),
                        },
                        _ => return Err(self.err_here()),
                    }
                } else {
                    0
                };
                self.expect_kw("IN")?;
                self.expect_kw("ARRAY")?;
                let e = self.text_until(&|t, _| kw(t).as_deref() == Some("LOOP"))?;
                self.i += 1;
                let targets = self.targets(&vars_text)?;
                let array = self.expr(&e);
                let body = self.loop_body()?;
                Ok(Stmt::Foreach {
                    line,
                    label,
                    targets,
                    slice,
                    array,
                    body,
                })
            }
            "EXIT" | "CONTINUE" => {
                self.i += 1;
                let cont = k == "CONTINUE";
                let is_word = matches!(self.peek(), Some(Token::Word(_)));
                let label = if is_word && self.peek_kw().as_deref() != Some("WHEN") {
                    Some(self.ident()?)
                } else {
                    None
                };
                let cond = if self.eat_kw("WHEN") {
                    let c = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    Some(self.expr(&c))
                } else {
                    None
                };
                self.expect_semi()?;
                Ok(Stmt::Exit {
                    line,
                    cont,
                    label,
                    cond,
                })
            }
            "RETURN" => {
                self.i += 1;
                if self.eat_kw("NEXT") {
                    let e = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    self.expect_semi()?;
                    let e = if e.is_empty() {
                        None
                    } else {
                        Some(self.expr(&e))
                    };
                    return Ok(Stmt::ReturnNext(line, e));
                }
                if self.eat_kw("QUERY") {
                    let dynamic = self.eat_kw("EXECUTE");
                    let e = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    self.expect_semi()?;
                    if dynamic {
                        let (e, using) = split_using(&e);
                        let using = using.iter().map(|u| self.expr(u)).collect();
                        return Ok(Stmt::ReturnQueryExec(line, self.expr(&e), using));
                    }
                    return Ok(Stmt::ReturnQuery(line, self.sql(&e)));
                }
                let e = self.text_until(&|t, _| *t == Token::SemiColon)?;
                self.expect_semi()?;
                Ok(Stmt::Return(
                    line,
                    if e.is_empty() {
                        None
                    } else {
                        Some(self.expr(&e))
                    },
                ))
            }
            "RAISE" => {
                self.i += 1;
                self.raise(line)
            }
            "PERFORM" => {
                self.i += 1;
                let e = self.text_until(&|t, _| *t == Token::SemiColon)?;
                self.expect_semi()?;
                Ok(Stmt::Perform(line, self.sql(&format!("SELECT {e}"))))
            }
            "EXECUTE" => {
                self.i += 1;
                let e = self.text_until(&|t, _| {
                    *t == Token::SemiColon || matches!(kw(t).as_deref(), Some("INTO" | "USING"))
                })?;
                let mut into = None;
                let mut using = Vec::new();
                loop {
                    if self.eat_kw("INTO") {
                        let strict = self.eat_kw("STRICT");
                        let t = self.text_until(&|t, _| {
                            *t == Token::SemiColon || kw(t).as_deref() == Some("USING")
                        })?;
                        into = Some((self.targets(&t)?, strict));
                    } else if self.eat_kw("USING") {
                        let t = self.text_until(&|t, _| {
                            *t == Token::SemiColon || kw(t).as_deref() == Some("INTO")
                        })?;
                        for u in split_top_commas(&t) {
                            using.push(self.expr(&u));
                        }
                    } else {
                        break;
                    }
                }
                self.expect_semi()?;
                Ok(Stmt::Dynamic {
                    line,
                    sql: self.expr(&e),
                    into,
                    using,
                })
            }
            "GET" => {
                self.i += 1;
                let stacked = self.eat_kw("STACKED");
                self.eat_kw("CURRENT");
                self.expect_kw("DIAGNOSTICS")?;
                let mut items = Vec::new();
                loop {
                    let v = self.ident()?;
                    let slot = self.lookup(&v).ok_or_else(|| {
                        syntax_err(format!("\"{v}\" is not a known variable"), line)
                    })?;
                    match self.next() {
                        Some(Token::Eq) | Some(Token::Assignment) => {}
                        _ => return Err(self.err_here()),
                    }
                    let item = self.ident()?.to_uppercase();
                    items.push((slot, item));
                    if self.peek() != Some(&Token::Comma) {
                        break;
                    }
                    self.i += 1;
                }
                self.expect_semi()?;
                Ok(Stmt::GetDiag(line, stacked, items))
            }
            "NULL" if self.peek2() == Some(Token::SemiColon) => {
                self.i += 1;
                self.expect_semi()?;
                Ok(Stmt::Null)
            }
            "ASSERT" => {
                self.i += 1;
                let c = self.text_until(&|t, _| *t == Token::SemiColon || *t == Token::Comma)?;
                let msg = if self.peek() == Some(&Token::Comma) {
                    self.i += 1;
                    let m = self.text_until(&|t, _| *t == Token::SemiColon)?;
                    Some(self.expr(&m))
                } else {
                    None
                };
                self.expect_semi()?;
                Ok(Stmt::Assert(line, self.expr(&c), msg))
            }
            "COMMIT" | "ROLLBACK" => {
                self.i += 1;
                self.text_until(&|t, _| *t == Token::SemiColon)?;
                self.expect_semi()?;
                Ok(Stmt::Transaction(
                    line,
                    if k == "COMMIT" { "COMMIT" } else { "ROLLBACK" },
                ))
            }
            _ if label.is_some() => Err(self.err_here()),
            _ => {
                // A SQL statement, perhaps with INTO.
                let start = self.i;
                let text = self.text_until(&|t, _| *t == Token::SemiColon)?;
                self.expect_semi()?;
                let _ = start;
                let (text, into) = self.split_into(&text)?;
                if let Some(w) = text.split_whitespace().next() {
                    let w = w.to_ascii_uppercase();
                    if !matches!(
                        w.as_str(),
                        "SELECT"
                            | "INSERT"
                            | "UPDATE"
                            | "DELETE"
                            | "WITH"
                            | "VALUES"
                            | "CREATE"
                            | "DROP"
                            | "TRUNCATE"
                            | "SET"
                            | "RESET"
                            | "SHOW"
                            | "COPY"
                            | "CALL"
                            | "DO"
                            | "SAVEPOINT"
                            | "RELEASE"
                            | "ANALYZE"
                            | "VACUUM"
                            | "ALTER"
                            | "TABLE"
                            | "LOCK"
                            | "NOTIFY"
                            | "DISCARD"
                            | "DEALLOCATE"
                            | "PREPARE"
                            | "EXECUTE"
                            | "COMMENT"
                            | "GRANT"
                            | "REVOKE"
                            | "REINDEX"
                            | "CLUSTER"
                            | "CHECKPOINT"
                            | "IMPORT"
                            | "SECURITY"
                            | "REFRESH"
                            | "LISTEN"
                            | "UNLISTEN"
                            | "MERGE"
                            | "FETCH"
                            | "MOVE"
                            | "CLOSE"
                    ) {
                        return Err(syntax_err(
                            format!(
                                "syntax error at or near \"{}\"",
                                text.split_whitespace().next().unwrap_or("")
                            ),
                            line,
                        ));
                    }
                }
                Ok(Stmt::Exec {
                    line,
                    sql: self.sql(&text),
                    into,
                })
            }
        }
    }

    fn loop_body(&mut self) -> Result<Vec<Stmt>, PgError> {
        let body = self.stmts(&["END"])?;
        self.expect_kw("END")?;
        self.expect_kw("LOOP")?;
        if matches!(self.peek(), Some(Token::Word(_))) {
            self.ident()?;
        }
        self.expect_semi()?;
        Ok(body)
    }

    /// Removes a top-level `INTO [STRICT] targets` from a statement.
    fn split_into(&mut self, text: &str) -> Result<(String, Option<(Vec<Target>, bool)>), PgError> {
        let Ok(toks) = crate::routine::tokens_with_spans(text) else {
            return Ok((text.to_string(), None));
        };
        let sig: Vec<usize> = (0..toks.len())
            .filter(|&i| is_sig(&toks[i].token))
            .collect();
        let first = sig
            .first()
            .and_then(|&i| kw(&toks[i].token))
            .unwrap_or_default();
        let mut depth = 0i32;
        for (k, &i) in sig.iter().enumerate() {
            match &toks[i].token {
                Token::LParen => depth += 1,
                Token::RParen => depth -= 1,
                _ => {}
            }
            if depth != 0 || kw(&toks[i].token).as_deref() != Some("INTO") {
                continue;
            }
            let prev = k
                .checked_sub(1)
                .and_then(|p| kw(&toks[sig[p]].token))
                .unwrap_or_default();
            if first == "INSERT" && prev == "INSERT" {
                continue;
            }
            if first == "MERGE" {
                continue;
            }
            // The targets: names, dots and commas after INTO [STRICT].
            let mut j = k + 1;
            let strict = sig.get(j).and_then(|&x| kw(&toks[x].token)).as_deref() == Some("STRICT");
            if strict {
                j += 1;
            }
            let tstart = j;
            let mut expect_name = true;
            while let Some(&x) = sig.get(j) {
                match (&toks[x].token, expect_name) {
                    (Token::Word(_), true) => expect_name = false,
                    (Token::Period | Token::Comma, false) => expect_name = true,
                    _ => break,
                }
                j += 1;
            }
            let targets: String = sig[tstart..j]
                .iter()
                .map(|&x| toks[x].token.to_string())
                .collect();
            let mut out = String::new();
            for (x, t) in toks.iter().enumerate() {
                if x >= i && (j >= sig.len() || x < sig[j]) {
                    if x == i {
                        out.push(' ');
                    }
                    continue;
                }
                out.push_str(&t.token.to_string());
            }
            return Ok((out, Some((self.targets(&targets)?, strict))));
        }
        Ok((text.to_string(), None))
    }

    fn raise(&mut self, line: usize) -> Result<Stmt, PgError> {
        if self.peek() == Some(&Token::SemiColon) {
            self.i += 1;
            return Ok(Stmt::Reraise(line));
        }
        let level = match self.peek_kw().as_deref() {
            Some("DEBUG") => Some(Severity::Debug),
            Some("LOG") => Some(Severity::Log),
            Some("INFO") => Some(Severity::Info),
            Some("NOTICE") => Some(Severity::Notice),
            Some("WARNING") => Some(Severity::Warning),
            Some("EXCEPTION") => Some(Severity::Error),
            _ => None,
        };
        if level.is_some() {
            self.i += 1;
        }
        let level = level.unwrap_or(Severity::Error);
        let mut code = None;
        let mut default_msg = String::new();
        let mut fmt = None;
        let mut args = Vec::new();
        let quoted = match self.peek().cloned() {
            Some(Token::SingleQuotedString(s)) | Some(Token::EscapedStringLiteral(s)) => Some(s),
            Some(Token::DollarQuotedString(d)) => Some(d.value),
            _ => None,
        };
        match self.peek().cloned() {
            _ if quoted.is_some() => {
                self.i += 1;
                fmt = quoted;
                while self.peek() == Some(&Token::Comma) {
                    self.i += 1;
                    let a = self.text_until(&|t, _| {
                        *t == Token::SemiColon
                            || *t == Token::Comma
                            || kw(t).as_deref() == Some("USING")
                    })?;
                    args.push(self.expr(&a));
                }
                let n = count_placeholders(fmt.as_deref().unwrap_or(""));
                if n > args.len() {
                    return Err(syntax_err("too few parameters specified for RAISE", line));
                }
                if n < args.len() {
                    return Err(syntax_err("too many parameters specified for RAISE", line));
                }
            }
            Some(Token::Word(_)) if self.peek_kw().as_deref() == Some("SQLSTATE") => {
                self.i += 1;
                match self.next() {
                    Some(Token::SingleQuotedString(s)) => {
                        default_msg = s.clone();
                        code = Some(s)
                    }
                    _ => return Err(self.err_here()),
                }
            }
            Some(Token::Word(_)) if self.peek_kw().as_deref() != Some("USING") => {
                let n = self.ident()?;
                default_msg = n.clone();
                code = Some(
                    condition_code(&n)
                        .ok_or_else(|| {
                            PgError::error(
                                crate::routine::codes::UNDEFINED_OBJECT,
                                format!("unrecognized exception condition \"{n}\""),
                            )
                        })?
                        .to_string(),
                );
            }
            _ => {}
        }
        let mut options = Vec::new();
        if self.eat_kw("USING") {
            loop {
                let name = self.ident()?.to_uppercase();
                match self.next() {
                    Some(Token::Eq) | Some(Token::Assignment) => {}
                    _ => return Err(self.err_here()),
                }
                let e = self.text_until(&|t, _| *t == Token::SemiColon || *t == Token::Comma)?;
                options.push((name, self.expr(&e)));
                if self.peek() != Some(&Token::Comma) {
                    break;
                }
                self.i += 1;
            }
        }
        self.expect_semi()?;
        Ok(Stmt::Raise {
            line,
            level,
            code,
            default_msg,
            fmt,
            args,
            options,
        })
    }
}

fn count_placeholders(f: &str) -> usize {
    let mut n = 0;
    let mut it = f.chars().peekable();
    while let Some(c) = it.next() {
        if c == '%' {
            if it.peek() == Some(&'%') {
                it.next();
            } else {
                n += 1;
            }
        }
    }
    n
}

fn header_has_range(h: &str) -> bool {
    let mut in_q = false;
    let b = h.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'\'' {
            in_q = !in_q;
        }
        if !in_q && b[i] == b'.' && b.get(i + 1) == Some(&b'.') {
            return true;
        }
    }
    false
}

fn split_range(h: &str) -> (String, String) {
    let i = h.find("..").unwrap_or(h.len());
    (
        h[..i].trim().to_string(),
        h[(i + 2).min(h.len())..].trim().to_string(),
    )
}

/// `hi BY step`, by the last top-level `BY` word.
fn split_by(h: &str) -> (String, Option<String>) {
    let lower = h.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut i = lower.len();
    while let Some(p) = lower[..i].rfind("by") {
        let before = p == 0 || !bytes[p - 1].is_ascii_alphanumeric() && bytes[p - 1] != b'_';
        let after =
            p + 2 >= bytes.len() || !bytes[p + 2].is_ascii_alphanumeric() && bytes[p + 2] != b'_';
        if before && after {
            return (
                h[..p].trim().to_string(),
                Some(h[p + 2..].trim().to_string()),
            );
        }
        i = p;
    }
    (h.trim().to_string(), None)
}

fn split_top_commas(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_q = false;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '\'' => in_q = !in_q,
            '(' if !in_q => depth += 1,
            ')' if !in_q => depth -= 1,
            ',' if !in_q && depth == 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn split_using(h: &str) -> (String, Vec<String>) {
    let lower = h.to_ascii_lowercase();
    match lower.rfind(" using ") {
        Some(p) => (h[..p].trim().to_string(), split_top_commas(&h[p + 7..])),
        None => (h.trim().to_string(), Vec::new()),
    }
}

/// Replaces variable references (`name`, `name.field`) by `$n`; `params`
/// collects what each `$n` is.
fn substitute_vars(
    sql: &str,
    lookup: &dyn Fn(&str, Option<&str>) -> Option<ParamRef>,
    qualified: &dyn Fn(&str, &str, Option<&str>) -> Option<ParamRef>,
    params: &mut Vec<ParamRef>,
) -> String {
    let Ok(toks) = crate::routine::tokens_with_spans(sql) else {
        return sql.to_string();
    };
    let toks: Vec<Token> = toks.into_iter().map(|t| t.token).collect();
    let sig: Vec<usize> = (0..toks.len()).filter(|&i| is_sig(&toks[i])).collect();
    let mut out = String::with_capacity(sql.len());
    let mut skip_until = 0usize;
    let mut insert_cols = false;
    let first = sig.first().and_then(|&i| kw(&toks[i])).unwrap_or_default();
    let mut k_of = HashMap::new();
    for (k, &i) in sig.iter().enumerate() {
        k_of.insert(i, k);
    }
    for (i, t) in toks.iter().enumerate() {
        if i < skip_until {
            continue;
        }
        let Some(&k) = k_of.get(&i) else {
            out.push_str(&t.to_string());
            continue;
        };
        let prev = k.checked_sub(1).map(|p| &toks[sig[p]]);
        let next = sig.get(k + 1).map(|&n| &toks[n]);
        // `$1`: the function's first argument, declared under that name.
        if let Token::Placeholder(ph) = t {
            if let Some(r) = lookup(ph, None) {
                let n = param_number(params, r);
                out.push_str(&format!("${n}"));
                continue;
            }
        }
        if let Token::Word(w) = t {
            let name = if w.quote_style.is_some() {
                w.value.clone()
            } else {
                w.value.to_lowercase()
            };
            if first == "INSERT" && matches!(prev.and_then(kw).as_deref(), Some("INTO")) && k >= 2 {
                if let Some(Token::LParen) = sig.get(k + 1).map(|&n| &toks[n]) {
                    insert_cols = true;
                }
                out.push_str(&t.to_string());
                continue;
            }
            let after_as = matches!(prev.and_then(kw).as_deref(), Some("AS"));
            if insert_cols
                || after_as
                || matches!(prev, Some(Token::Period) | Some(Token::DoubleColon))
                || matches!(next, Some(Token::LParen))
            {
                out.push_str(&t.to_string());
                continue;
            }
            // UPDATE ... SET col = : the column is not a variable.
            if matches!(next, Some(Token::Eq))
                && first == "UPDATE"
                && matches!(prev, Some(Token::Comma))
                    | matches!(prev.and_then(kw).as_deref(), Some("SET"))
            {
                out.push_str(&t.to_string());
                continue;
            }
            // `label.var` / `label.rec.field`: a variable of the block
            // (or function) so labelled.
            let word_at = |j: usize| match sig.get(j).map(|&n| &toks[n]) {
                Some(Token::Word(f)) => Some(if f.quote_style.is_some() {
                    f.value.clone()
                } else {
                    f.value.to_lowercase()
                }),
                _ => None,
            };
            let period_at = |j: usize| matches!(sig.get(j).map(|&n| &toks[n]), Some(Token::Period));
            if matches!(next, Some(Token::Period)) {
                if let Some(var) = word_at(k + 2) {
                    let f2 = if period_at(k + 3) {
                        word_at(k + 4)
                    } else {
                        None
                    };
                    if let Some(r) = qualified(&name, &var, f2.as_deref()) {
                        skip_until = match r {
                            ParamRef::Field(..) => sig[k + 4] + 1,
                            ParamRef::Var(_) => sig[k + 2] + 1,
                        };
                        let n = param_number(params, r);
                        out.push_str(&format!("${n}"));
                        continue;
                    }
                }
            }
            let field = if matches!(next, Some(Token::Period)) {
                match sig.get(k + 2).map(|&n| &toks[n]) {
                    Some(Token::Word(f)) => Some(if f.quote_style.is_some() {
                        f.value.clone()
                    } else {
                        f.value.to_lowercase()
                    }),
                    _ => None,
                }
            } else {
                None
            };
            if let Some(r) = lookup(&name, field.as_deref()) {
                if let ParamRef::Field(..) = r {
                    skip_until = sig[k + 2] + 1;
                } else if field.is_some() {
                    // A qualified name whose qualifier is a scalar
                    // variable: a table alias that happens to match.
                    out.push_str(&t.to_string());
                    continue;
                }
                let n = param_number(params, r);
                out.push_str(&format!("${n}"));
                continue;
            }
            out.push_str(&t.to_string());
        } else {
            if insert_cols && matches!(t, Token::RParen) {
                insert_cols = false;
            }
            out.push_str(&t.to_string());
        }
    }
    out
}

/// PostgreSQL's condition names (plerrcodes.h) for the errors tusk raises.
fn condition_code(name: &str) -> Option<&'static str> {
    Some(match name {
        "raise_exception" => "P0001",
        "no_data_found" => "P0002",
        "too_many_rows" => "P0003",
        "assert_failure" => "P0004",
        "plpgsql_error" => "P0000",
        "division_by_zero" => "22012",
        "data_exception" => "22000",
        "numeric_value_out_of_range" => "22003",
        "invalid_text_representation" => "22P02",
        "string_data_right_truncation" => "22001",
        "null_value_not_allowed" => "22004",
        "invalid_parameter_value" => "22023",
        "datetime_field_overflow" => "22008",
        "character_not_in_repertoire" => "22021",
        "integrity_constraint_violation" => "23000",
        "not_null_violation" => "23502",
        "foreign_key_violation" => "23503",
        "unique_violation" => "23505",
        "check_violation" => "23514",
        "exclusion_violation" => "23P01",
        "restrict_violation" => "23001",
        "syntax_error" => "42601",
        "undefined_table" => "42P01",
        "undefined_column" => "42703",
        "undefined_function" => "42883",
        "undefined_object" => "42704",
        "duplicate_table" => "42P07",
        "duplicate_object" => "42710",
        "duplicate_function" => "42723",
        "duplicate_schema" => "42P06",
        "invalid_schema_name" => "3F000",
        "wrong_object_type" => "42809",
        "datatype_mismatch" => "42804",
        "insufficient_privilege" => "42501",
        "feature_not_supported" => "0A000",
        "query_canceled" => "57014",
        "serialization_failure" => "40001",
        "deadlock_detected" => "40P01",
        "lock_not_available" => "55P03",
        "object_in_use" => "55006",
        "object_not_in_prerequisite_state" => "55000",
        "statement_too_complex" => "54001",
        "program_limit_exceeded" => "54000",
        "cardinality_violation" => "21000",
        "invalid_cursor_state" => "24000",
        "invalid_transaction_state" => "25000",
        "active_sql_transaction" => "25001",
        "read_only_sql_transaction" => "25006",
        "in_failed_sql_transaction" => "25P02",
        "case_not_found" => "20000",
        "internal_error" => "XX000",
        "warning" => "01000",
        "successful_completion" => "00000",
        "invalid_sql_statement_name" => "26000",
        "undefined_parameter" => "42P02",
        "ambiguous_column" => "42702",
        "ambiguous_function" => "42725",
        "grouping_error" => "42803",
        "indeterminate_datatype" => "42P18",
        "invalid_function_definition" => "42P13",
        "invalid_column_reference" => "42P10",
        "duplicate_column" => "42701",
        "reserved_name" => "42939",
        "external_routine_exception" => "38000",
        "invalid_datetime_format" => "22007",
        "invalid_escape_sequence" => "22025",
        "floating_point_exception" => "22P01",
        "invalid_regular_expression" => "2201B",
        "admin_shutdown" => "57P01",
        "too_many_connections" => "53300",
        "out_of_memory" => "53200",
        "disk_full" => "53100",
        "io_error" => "58030",
        _ => return None,
    })
}

/// Parses a function's body (CREATE FUNCTION's validation, and the first
/// call of a session).
fn parse(host: &dyn Host, def: &FuncDef) -> Result<Function, PgError> {
    COMPILING.with(|c| *c.borrow_mut() = def.name.clone());
    let toks = crate::routine::tokens_with_spans(&def.src)
        .map_err(|e| e.with_context(compile_context(0)))?;
    let mut lines = vec![0];
    for (i, b) in def.src.bytes().enumerate() {
        if b == b'\n' {
            lines.push(i + 1);
        }
    }
    let mut p = Parser {
        src: &def.src,
        toks,
        lines,
        i: 0,
        vars: Vec::new(),
        scopes: vec![Vec::new()],
        labels: vec![(0, def.name.to_lowercase())],
        host,
        trigger: def.ret == crate::trigger::TRIGGER,
        used: RefCell::new(std::collections::HashSet::new()),
    };
    let found = p.declare("found", VarType::Scalar(Ty::new(types::BOOL)));
    let mut args = Vec::new();
    for (i, (n, t)) in def.arg_names.iter().zip(def.arg_types.iter()).enumerate() {
        let dollar = p.declare(&format!("${}", i + 1), VarType::Scalar(Ty::new(*t)));
        if !n.is_empty() {
            p.scopes[0].push((n.clone(), dollar));
        }
        args.push(dollar);
    }
    let mut outs = Vec::new();
    if def.out_vars {
        for (n, t) in &def.out_cols {
            outs.push(p.declare(n, VarType::Scalar(Ty::new(*t))));
        }
    }
    // A trigger function's variables, declared in the function's
    // outermost scope as PL/pgSQL's compiler does for a trigger call.
    let trig = if def.ret == crate::trigger::TRIGGER {
        let new = p.declare("new", VarType::Record);
        let old = p.declare("old", VarType::Record);
        let mut scalars = [0usize; 9];
        for (i, (n, t)) in [
            ("tg_name", types::NAME),
            ("tg_when", types::TEXT),
            ("tg_level", types::TEXT),
            ("tg_op", types::TEXT),
            ("tg_relid", types::OID),
            ("tg_relname", types::NAME),
            ("tg_table_name", types::NAME),
            ("tg_table_schema", types::NAME),
            ("tg_nargs", types::INT4),
        ]
        .into_iter()
        .enumerate()
        {
            scalars[i] = p.declare(n, VarType::Scalar(Ty::new(t)));
        }
        Some(TrigSlots {
            new,
            old,
            scalars,
            used: [false; 9],
        })
    } else {
        None
    };
    let label = p.label()?;
    let block = p.block(label)?;
    if p.peek() == Some(&Token::SemiColon) {
        p.i += 1;
    }
    if !matches!(p.peek(), None | Some(Token::EOF)) {
        return Err(p.err_here());
    }
    let mut trig = trig;
    if let Some(t) = &mut trig {
        let used = p.used.borrow();
        for (u, slot) in t.used.iter_mut().zip(t.scalars) {
            *u = used.contains(&slot);
        }
    }
    Ok(Function {
        vars: p.vars,
        block,
        args,
        outs,
        found,
        trig,
    })
}

/// CREATE FUNCTION's check of a PL/pgSQL body.
pub(crate) fn compile(host: &dyn Host, def: &FuncDef) -> Result<(), PgError> {
    parse(host, def).map(|_| ())
}

thread_local! {
    /// Parsed functions of this session by oid and argument types (a
    /// polymorphic function is compiled per actual types), with their
    /// source.
    static FUNCS: RefCell<HashMap<(u32, Vec<crate::types::Oid>), (String, Rc<Function>)>> =
        RefCell::new(HashMap::new());
}

// ---- execution ----

thread_local! {
    /// Set by a top-level CALL or DO just before it invokes its routine:
    /// that procedure or DO block may COMMIT and ROLLBACK (PostgreSQL's
    /// non-atomic execution context). Taken by the first procedure or DO
    /// invoked, so functions it calls stay atomic.
    static NONATOMIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

thread_local! {
    /// Whether the innermost running PL/pgSQL routine is non-atomic: a
    /// CALL it runs is non-atomic too.
    static RUNNING_NONATOMIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the innermost running PL/pgSQL routine may end transactions.
/// Called by the backend running CALL.
pub(crate) fn in_nonatomic() -> bool {
    RUNNING_NONATOMIC.with(|c| c.get())
}

/// Marks (or clears) the next procedure or DO block invoked as allowed
/// to end transactions. Called by the backend running CALL or DO.
pub(crate) fn set_nonatomic(on: bool) {
    NONATOMIC.with(|c| c.set(on));
}

#[derive(Debug, Clone)]
enum Val {
    Scalar(Value),
    /// Field names, types, values; None: an unassigned record.
    Row(Option<Vec<(FieldName, Oid, Value)>>),
}

enum Flow {
    Normal,
    Exit(Option<String>),
    Continue(Option<String>),
    Return,
}

struct Interp<'a> {
    f: &'a Function,
    def: &'a FuncDef,
    /// A trigger's NEW or OLD that is NULL for its event (RETURN gives
    /// NULL).
    null_rows: Vec<usize>,
    vals: Vec<Val>,
    ret: Option<Value>,
    set: Vec<crate::exec::Row>,
    row_count: i64,
    /// The error being handled (GET STACKED DIAGNOSTICS, bare RAISE).
    caught: Vec<PgError>,
    /// Whether the error in flight already carries this call's line.
    ctx_done: bool,
    now: i64,
    /// A procedure or DO run by a top-level CALL/DO: COMMIT and ROLLBACK
    /// may end the transaction.
    nonatomic: bool,
    /// Exception blocks open (each a subtransaction).
    sub_depth: usize,
    /// Parameter values of the expression being evaluated, kept between
    /// evaluations so that evaluating allocates nothing.
    scratch: Vec<Value>,
}

/// Calls a PL/pgSQL function or DO block. Called by the backend running
/// the statement.
pub(crate) fn call(
    host: &mut dyn Host,
    def: &FuncDef,
    args: Vec<Value>,
) -> Result<CallResult, PgError> {
    invoke(host, def, args, None)
}

/// Calls a trigger function for one event: NEW, OLD and TG_* are set
/// from `data`; the result is the returned row as a `Value::Record`, or
/// NULL. Called by the backend running the triggering statement.
pub(crate) fn call_trigger(
    host: &mut dyn Host,
    def: &FuncDef,
    data: &crate::trigger::TrigCall<'_>,
) -> Result<Value, PgError> {
    match invoke(host, def, Vec::new(), Some(data))? {
        CallResult::Scalar(v) => Ok(v),
        CallResult::Set(_) => Ok(Value::Null),
    }
}

fn invoke(
    host: &mut dyn Host,
    def: &FuncDef,
    args: Vec<Value>,
    trig: Option<&crate::trigger::TrigCall<'_>>,
) -> Result<CallResult, PgError> {
    if def.ret == crate::trigger::TRIGGER && trig.is_none() {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "trigger functions can only be called as triggers",
        )
        .with_context(format!(
            "compilation of PL/pgSQL function \"{}\" near line 1",
            def.name
        )));
    }
    let f = if def.oid != 0 {
        let hit = FUNCS.with(|c| {
            c.borrow()
                .get(&(def.oid, def.arg_types.clone()))
                .filter(|(s, _)| *s == def.src)
                .map(|(_, f)| f.clone())
        });
        match hit {
            Some(f) => f,
            None => {
                let f = Rc::new(parse(&*host, def)?);
                FUNCS.with(|c| {
                    c.borrow_mut().insert(
                        (def.oid, def.arg_types.clone()),
                        (def.src.clone(), f.clone()),
                    )
                });
                f
            }
        }
    } else {
        Rc::new(parse(&*host, def)?)
    };
    let mut vals: Vec<Val> = f
        .vars
        .iter()
        .map(|v| match v.ty {
            VarType::Scalar(_) => Val::Scalar(Value::Null),
            VarType::Row(ref cols) => Val::Row(Some(
                cols.iter()
                    .map(|(n, t)| (n.clone(), *t, Value::Null))
                    .collect(),
            )),
            VarType::Record => Val::Row(None),
        })
        .collect();
    for (slot, a) in f.args.iter().zip(args) {
        vals[*slot] = Val::Scalar(a);
    }
    vals[f.found] = Val::Scalar(Value::Bool(false));
    if let (Some(slots), Some(t)) = (&f.trig, trig) {
        // An absent NEW or OLD is a NULL row of the table's type: its
        // fields read as NULL, and RETURNing it returns NULL.
        let fields = |row: Option<&[Value]>| -> Vec<(FieldName, Oid, Value)> {
            match row {
                Some(r) => t
                    .columns
                    .iter()
                    .zip(r)
                    .map(|((n, o), v)| (n.clone(), *o, v.clone()))
                    .collect(),
                None => t
                    .columns
                    .iter()
                    .map(|(n, o)| (n.clone(), *o, Value::Null))
                    .collect(),
            }
        };
        vals[slots.new] = Val::Row(Some(fields(t.new)));
        vals[slots.old] = Val::Row(Some(fields(t.old)));
        // In the order of TrigSlots::scalars.
        let scalar = |i: usize| match i {
            0 => Value::Name(t.name.to_string()),
            1 => Value::Text(t.when.to_string()),
            2 => Value::Text(t.level.to_string()),
            3 => Value::Text(t.op.to_string()),
            4 => Value::Oid(t.relid),
            5 | 6 => Value::Name(t.table.to_string()),
            7 => Value::Name(t.schema.to_string()),
            _ => Value::Int4(t.args.len() as i32),
        };
        for (i, (slot, used)) in slots.scalars.iter().zip(slots.used).enumerate() {
            if used {
                vals[*slot] = Val::Scalar(scalar(i));
            }
        }
    }
    let null_rows = match (&f.trig, trig) {
        (Some(slots), Some(t)) => [(slots.new, t.new.is_none()), (slots.old, t.old.is_none())]
            .into_iter()
            .filter(|x| x.1)
            .map(|x| x.0)
            .collect(),
        _ => Vec::new(),
    };
    let nonatomic = (def.kind == b'p' || def.oid == 0) && NONATOMIC.with(|c| c.replace(false));
    let mut it = Interp {
        nonatomic,
        sub_depth: 0,
        f: &f,
        def,
        null_rows,
        vals,
        ret: None,
        set: Vec::new(),
        row_count: 0,
        caught: Vec::new(),
        ctx_done: false,
        now: host.now(),
        scratch: Vec::new(),
    };
    let outer_nonatomic = RUNNING_NONATOMIC.with(|c| c.replace(nonatomic));
    let flow = it.block(host, &f.block, 0);
    RUNNING_NONATOMIC.with(|c| c.set(outer_nonatomic));
    let flow = flow?;
    let returned = matches!(flow, Flow::Return);
    if def.retset {
        return Ok(CallResult::Set(std::mem::take(&mut it.set)));
    }
    if !returned && def.ret != types::VOID && def.kind != b'p' {
        return Err(PgError::error(
            SqlState::new("2F005"),
            if def.ret == crate::trigger::TRIGGER {
                "control reached end of trigger procedure without RETURN"
            } else {
                "control reached end of function without RETURN"
            },
        )
        .with_context(format!("PL/pgSQL function {}", it.sig())));
    }
    if def.ret == types::VOID {
        return Ok(CallResult::Scalar(Value::Void));
    }
    Ok(CallResult::Scalar(it.ret.take().unwrap_or(Value::Null)))
}

fn matches_cond(conds: &[String], code: &str) -> bool {
    conds.iter().any(|c| {
        if c == "OTHERS" {
            code != "57014" && code != "P0004" && !code.starts_with("57P")
        } else if c.ends_with("000") && c.len() == 5 {
            code.starts_with(&c[..2])
        } else {
            c == code
        }
    })
}

impl<'a> Interp<'a> {
    fn sig(&self) -> String {
        if self.def.oid == 0 {
            "inline_code_block".to_string()
        } else {
            self.def.context_signature()
        }
    }

    fn context_line(&self, line: usize, kind: &str) -> String {
        format!("PL/pgSQL function {} line {line} at {kind}", self.sig())
    }

    fn param_values(&self, sql: &Sql, host: &dyn Host) -> Result<(Vec<Oid>, Vec<Value>), PgError> {
        let _ = host;
        let mut tys = Vec::with_capacity(sql.params.len());
        let mut vals = Vec::with_capacity(sql.params.len());
        for p in &sql.params {
            match p {
                ParamRef::Var(s) => match (&self.vals[*s], &self.f.vars[*s].ty) {
                    (Val::Scalar(v), VarType::Scalar(t)) => {
                        let oid = if t.oid == types::UNKNOWN {
                            value_type(v)
                        } else {
                            t.oid
                        };
                        tys.push(oid);
                        vals.push(v.clone());
                    }
                    // A trigger's absent NEW/OLD is the NULL row.
                    (Val::Row(_), _) if self.null_rows.contains(s) => {
                        tys.push(types::RECORD);
                        vals.push(Value::Null);
                    }
                    (Val::Row(r), _) => {
                        let fields: Vec<(Oid, Value)> = r
                            .as_ref()
                            .map(|r| r.iter().map(|(_, t, v)| (*t, v.clone())).collect())
                            .unwrap_or_default();
                        tys.push(types::RECORD);
                        vals.push(Value::Record(fields));
                    }
                    (Val::Scalar(v), _) => {
                        tys.push(value_type(v));
                        vals.push(v.clone());
                    }
                },
                ParamRef::Field(s, f) => {
                    let Val::Row(r) = &self.vals[*s] else {
                        return Err(PgError::error(sqlstate::SYNTAX_ERROR, "not a record"));
                    };
                    let Some(r) = r else {
                        return Err(PgError::error(
                            SqlState::new("55000"),
                            format!("record \"{}\" is not assigned yet", self.f.vars[*s].name),
                        )
                        .with_detail(
                            "The tuple structure of a not-yet-assigned record is indeterminate.",
                        ));
                    };
                    let Some((_, t, v)) = r.iter().find(|(n, _, _)| **n == **f) else {
                        return Err(PgError::error(
                            sqlstate::UNDEFINED_COLUMN,
                            format!("record \"{}\" has no field \"{f}\"", self.f.vars[*s].name),
                        ));
                    };
                    tys.push(*t);
                    vals.push(v.clone());
                }
            }
        }
        Ok((tys, vals))
    }

    /// The type a parameter passes as, as [`Interp::param_values`] gives
    /// it; None where reading it would fail (that path reports why).
    fn param_type(&self, p: &ParamRef) -> Option<Oid> {
        match p {
            ParamRef::Var(s) => Some(match (&self.vals[*s], &self.f.vars[*s].ty) {
                (Val::Scalar(v), VarType::Scalar(t)) if t.oid == types::UNKNOWN => value_type(v),
                (Val::Scalar(_), VarType::Scalar(t)) => t.oid,
                (Val::Row(_), _) => types::RECORD,
                (Val::Scalar(v), _) => value_type(v),
            }),
            ParamRef::Field(s, f) => match &self.vals[*s] {
                Val::Row(Some(r)) => r.iter().find(|(n, _, _)| **n == **f).map(|x| x.1),
                _ => None,
            },
        }
    }

    /// An expression's value and type straight from its cached simple
    /// expression (plfast.rs), or None when there is none to use (not yet
    /// planned, the catalog or a parameter's type changed, not simple,
    /// not one column): then [`Interp::run`] plans or runs it. This is
    /// the per-statement path of every assignment, condition and loop
    /// bound, so it allocates nothing: the parameter values go into the
    /// interpreter's reused buffer, and the cache is checked in place.
    fn eval_simple(
        &mut self,
        host: &mut dyn Host,
        sql: &Sql,
    ) -> Result<Option<(Value, Oid)>, PgError> {
        if !sql.is_expr {
            return Ok(None);
        }
        let generation = host.plan_generation();
        let (expr, ty) = {
            let cache = sql.plan.borrow();
            let Some((g, tys, p, Some(simple))) = &*cache else {
                return Ok(None);
            };
            if simple.fast.is_none() {
                return Ok(None);
            }
            if Some(*g) != generation
                || tys.len() != sql.params.len()
                || sql
                    .params
                    .iter()
                    .zip(tys)
                    .any(|(p, t)| self.param_type(p) != Some(*t))
            {
                return Ok(None);
            }
            (simple.clone(), p.columns()[0].type_oid)
        };
        let mut params = std::mem::take(&mut self.scratch);
        for p in &sql.params {
            params.push(match p {
                ParamRef::Var(s) => match &self.vals[*s] {
                    Val::Scalar(v) => v.clone(),
                    // A trigger's absent NEW/OLD is the NULL row.
                    Val::Row(_) if self.null_rows.contains(s) => Value::Null,
                    Val::Row(r) => Value::Record(
                        r.as_ref()
                            .map(|r| r.iter().map(|(_, t, v)| (*t, v.clone())).collect())
                            .unwrap_or_default(),
                    ),
                },
                ParamRef::Field(s, f) => match &self.vals[*s] {
                    Val::Row(Some(r)) => r
                        .iter()
                        .find(|(n, _, _)| **n == **f)
                        .map_or(Value::Null, |x| x.2.clone()),
                    _ => Value::Null,
                },
            });
        }
        // `fast` is Some: checked with the cache above.
        let v = match &expr.fast {
            Some(f) => f.eval(&params, host),
            None => Ok(Value::Null),
        };
        params.clear();
        self.scratch = params;
        Ok(Some((v?, ty)))
    }

    /// An assignment whose expression is simple: evaluated and stored;
    /// false when it is not (then the statement runs). Kept out of
    /// [`Interp::stmt`], whose frame is large: this is the hot path of
    /// every loop.
    #[inline(never)]
    fn assign_simple(&mut self, host: &mut dyn Host, t: &Target, e: &Sql) -> Result<bool, PgError> {
        match self.eval_simple(host, e)? {
            Some((v, ty)) => {
                // A value of the variable's own type (no typmod to apply)
                // is stored as is: [`Interp::assign`]'s first case.
                if let Target::Var(s) = t {
                    let decl = &self.f.vars[*s];
                    if let VarType::Scalar(vt) = &decl.ty {
                        if vt.oid == ty && vt.typmod < 0 && !(decl.not_null && v.is_null()) {
                            self.vals[*s] = Val::Scalar(v);
                            return Ok(true);
                        }
                    }
                }
                self.assign(t, v, ty)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Runs a statement of the body, with `extra` parameters after the
    /// variables (EXECUTE ... USING); returns its result columns' types,
    /// its rows (at most `limit`) and its tag.
    fn run(
        &mut self,
        host: &mut dyn Host,
        sql: &Sql,
        limit: Option<usize>,
    ) -> Result<(Vec<(String, Oid)>, Vec<crate::exec::Row>, String), PgError> {
        let (tys, vals) = self.param_values(sql, &*host)?;
        let generation = host.plan_generation();
        let cached = match (&*sql.plan.borrow(), generation) {
            (Some((g, t, p, simple)), Some(gen)) if *g == gen && *t == tys => {
                Some((p.clone(), simple.clone()))
            }
            _ => None,
        };
        let (p, simple) = match cached {
            Some(c) => c,
            None => {
                let planned = plan_single(sql, &tys, &*host);
                // PostgreSQL names the statement when planning it fails.
                let p = Rc::new(planned.map_err(|e| {
                    let what = if sql.is_expr {
                        "SQL expression"
                    } else {
                        "SQL statement"
                    };
                    add_context(e, &format!("{what} \"{}\"", sql.orig))
                })?);
                let simple = crate::plfast::simple_exprs(&p)
                    .map(|exprs| Rc::new(crate::plfast::Simple::new(exprs, sql.is_expr)));
                if let Some(g) = generation {
                    *sql.plan.borrow_mut() = Some((g, tys.clone(), p.clone(), simple.clone()));
                }
                (p, simple)
            }
        };
        if let (Some(exprs), true) = (simple, sql.is_expr) {
            // No table is read: evaluate in place (plfast.rs). Errors get
            // no statement line, as PostgreSQL's simple expressions.
            let row = crate::plfast::eval(&exprs.exprs, &vals, host)?;
            let cols = p
                .columns()
                .iter()
                .map(|c| (c.name.clone(), c.type_oid))
                .collect();
            return Ok((cols, vec![row], "SELECT 1".to_string()));
        }
        // An error while the statement runs (in a trigger or function it
        // calls) names the statement, as PostgreSQL's SPI does; simple
        // expressions run outside SPI there and get no such line.
        run_prepared(host, &p, vals, limit).map_err(|e| {
            if sql.is_expr {
                e
            } else {
                add_context(e, &format!("SQL statement \"{}\"", sql.orig))
            }
        })
    }

    /// The value of an expression (`SELECT expr`), converted to `want`.
    fn eval(&mut self, host: &mut dyn Host, sql: &Sql, want: Option<Ty>) -> Result<Value, PgError> {
        if let Some((v, ty)) = self.eval_simple(host, sql)? {
            return self.convert(v, ty, want);
        }
        let (cols, rows, _) = self.run(host, sql, Some(2))?;
        if cols.len() != 1 {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                format!("query \"{}\" returned {} columns", sql.text, cols.len()),
            ));
        }
        if rows.len() > 1 {
            return Err(PgError::error(
                SqlState::new("21000"),
                format!("query \"{}\" returned more than one row", sql.text),
            ));
        }
        let v = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null);
        self.convert(v, cols[0].1, want)
    }

    /// An expression's value of type `from` converted to `want`.
    fn convert(&self, v: Value, from: Oid, want: Option<Ty>) -> Result<Value, PgError> {
        match want {
            Some(t) if t.oid != types::UNKNOWN && t.oid != from && !v.is_null() => {
                crate::cast::cast(v, from, t, self.now)
            }
            Some(t) if t.typmod >= 0 && !v.is_null() => crate::cast::apply_typmod(v, t),
            _ => Ok(v),
        }
    }

    /// A trigger function's RETURN: a row variable's fields (RETURN NEW),
    /// or any expression yielding a row or NULL.
    fn trigger_result(&mut self, host: &mut dyn Host, e: &Sql) -> Result<Value, PgError> {
        if let [ParamRef::Var(s)] = e.params.as_slice() {
            if e.text.trim() == "SELECT $1" {
                if self.null_rows.contains(s) {
                    return Ok(Value::Null);
                }
                if let Val::Row(r) = &self.vals[*s] {
                    return Ok(match r {
                        Some(fields) => {
                            Value::Record(fields.iter().map(|(_, t, v)| (*t, v.clone())).collect())
                        }
                        None => Value::Null,
                    });
                }
            }
        }
        match self.eval(host, e, None)? {
            v @ (Value::Record(_) | Value::Null) => Ok(v),
            _ => Err(PgError::error(
                SqlState::new("42804"),
                "returned row structure does not match the structure of the triggering table",
            )
            .with_detail("Returned type is not a row.")),
        }
    }

    fn eval_bool(&mut self, host: &mut dyn Host, sql: &Sql) -> Result<bool, PgError> {
        Ok(matches!(
            self.eval(host, sql, Some(Ty::new(types::BOOL)))?,
            Value::Bool(true)
        ))
    }

    fn assign(&mut self, target: &Target, v: Value, from: Oid) -> Result<(), PgError> {
        match target {
            Target::Var(s) => {
                let decl = &self.f.vars[*s];
                match &decl.ty {
                    VarType::Scalar(t) => {
                        let v = if v.is_null()
                            || t.oid == types::UNKNOWN
                            || (from == t.oid && t.typmod < 0)
                        {
                            v
                        } else if from == t.oid {
                            crate::cast::apply_typmod(v, *t)?
                        } else {
                            crate::cast::cast(v, from, *t, self.now)?
                        };
                        if v.is_null() && decl.not_null {
                            return Err(PgError::error(
                                SqlState::new("22004"),
                                format!(
                                    "null value cannot be assigned to variable \"{}\" declared NOT NULL",
                                    decl.name
                                ),
                            ));
                        }
                        self.vals[*s] = Val::Scalar(v);
                    }
                    _ => match v {
                        Value::Record(fields) => {
                            let names: Vec<FieldName> = match &self.vals[*s] {
                                Val::Row(Some(r)) => r.iter().map(|f| f.0.clone()).collect(),
                                _ => (1..=fields.len())
                                    .map(|i| FieldName::from(format!("f{i}")))
                                    .collect(),
                            };
                            self.vals[*s] = Val::Row(Some(
                                names
                                    .into_iter()
                                    .zip(fields)
                                    .map(|(n, (t, v))| (n, t, v))
                                    .collect(),
                            ));
                        }
                        Value::Null => {
                            if let Val::Row(Some(r)) = &mut self.vals[*s] {
                                for f in r.iter_mut() {
                                    f.2 = Value::Null;
                                }
                            }
                        }
                        _ => {
                            return Err(PgError::error(
                                SqlState::new("42804"),
                                "cannot assign non-composite value to a record variable",
                            ))
                        }
                    },
                }
            }
            Target::Field(s, f) => {
                let name = self.f.vars[*s].name.clone();
                let Val::Row(r) = &mut self.vals[*s] else {
                    return Err(PgError::error(sqlstate::SYNTAX_ERROR, "not a record"));
                };
                let Some(r) = r else {
                    return Err(PgError::error(
                        SqlState::new("55000"),
                        format!("record \"{name}\" is not assigned yet"),
                    )
                    .with_detail(
                        "The tuple structure of a not-yet-assigned record is indeterminate.",
                    ));
                };
                let Some(field) = r.iter_mut().find(|x| *x.0 == **f) else {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("record \"{name}\" has no field \"{f}\""),
                    ));
                };
                field.2 = if v.is_null() || from == field.1 {
                    v
                } else {
                    crate::cast::cast(v, from, Ty::new(field.1), self.now)?
                };
            }
        }
        Ok(())
    }

    /// Assigns a result row to INTO / FOR targets: one record or row
    /// variable takes the whole row, else one variable per column.
    fn assign_row(
        &mut self,
        targets: &[Target],
        cols: &[(String, Oid)],
        row: Option<crate::exec::Row>,
    ) -> Result<(), PgError> {
        if let [Target::Var(s)] = targets {
            match &self.f.vars[*s].ty {
                VarType::Record => {
                    self.vals[*s] = Val::Row(Some(
                        cols.iter()
                            .enumerate()
                            .map(|(i, (n, t))| {
                                (
                                    FieldName::from(n.as_str()),
                                    *t,
                                    row.as_ref()
                                        .and_then(|r| r.get(i).cloned())
                                        .unwrap_or(Value::Null),
                                )
                            })
                            .collect(),
                    ));
                    return Ok(());
                }
                VarType::Row(fields) => {
                    let fields = fields.clone();
                    let mut out = Vec::with_capacity(fields.len());
                    for (i, (n, t)) in fields.iter().enumerate() {
                        let v = row
                            .as_ref()
                            .and_then(|r| r.get(i).cloned())
                            .unwrap_or(Value::Null);
                        let from = cols.get(i).map_or(*t, |c| c.1);
                        let v = if v.is_null() || from == *t {
                            v
                        } else {
                            crate::cast::cast(v, from, Ty::new(*t), self.now)?
                        };
                        out.push((n.clone(), *t, v));
                    }
                    self.vals[*s] = Val::Row(Some(out));
                    return Ok(());
                }
                VarType::Scalar(_) => {}
            }
        }
        for (i, t) in targets.iter().enumerate() {
            let v = row
                .as_ref()
                .and_then(|r| r.get(i).cloned())
                .unwrap_or(Value::Null);
            let from = cols.get(i).map_or(types::UNKNOWN, |c| c.1);
            self.assign(t, v, from)?;
        }
        Ok(())
    }

    fn set_found(&mut self, b: bool) {
        self.vals[self.f.found] = Val::Scalar(Value::Bool(b));
    }

    fn block(&mut self, host: &mut dyn Host, b: &Block, line: usize) -> Result<Flow, PgError> {
        let _ = line;
        for &d in &b.decls {
            let decl = &self.f.vars[d];
            let v = match &decl.default {
                Some(e) => {
                    let want = match &decl.ty {
                        VarType::Scalar(t) => Some(*t),
                        _ => None,
                    };
                    let v = self.eval(host, e, want)?;
                    if v.is_null() && decl.not_null {
                        return Err(PgError::error(
                            SqlState::new("22004"),
                            format!(
                                "null value cannot be assigned to variable \"{}\" declared NOT NULL",
                                decl.name
                            ),
                        ));
                    }
                    Val::Scalar(v)
                }
                None => match &decl.ty {
                    VarType::Scalar(_) => Val::Scalar(Value::Null),
                    VarType::Row(cols) => Val::Row(Some(
                        cols.iter()
                            .map(|(n, t)| (n.clone(), *t, Value::Null))
                            .collect(),
                    )),
                    VarType::Record => Val::Row(None),
                },
            };
            self.vals[d] = v;
        }
        if b.handlers.is_empty() {
            return self.stmts(host, &b.body);
        }
        host.transactions().begin_internal()?;
        self.sub_depth += 1;
        let r = self.stmts(host, &b.body);
        self.sub_depth -= 1;
        match r {
            Ok(flow) => {
                host.transactions().release_internal()?;
                Ok(flow)
            }
            Err(e) => {
                host.transactions().rollback_internal()?;
                let code = e.code.as_str().to_string();
                let Some(h) = b.handlers.iter().find(|h| matches_cond(&h.conds, &code)) else {
                    return Err(e);
                };
                if let Some((st, em)) = b.err_vars {
                    self.vals[st] = Val::Scalar(Value::Text(code));
                    self.vals[em] = Val::Scalar(Value::Text(e.message.clone()));
                }
                self.ctx_done = false;
                self.caught.push(e);
                let r = self.stmts(host, &h.body);
                self.caught.pop();
                r
            }
        }
    }

    fn stmts(&mut self, host: &mut dyn Host, list: &[Stmt]) -> Result<Flow, PgError> {
        for s in list {
            match self.stmt(host, s) {
                Ok(Flow::Normal) => {}
                Ok(f) => return Ok(f),
                Err(e) => {
                    if self.ctx_done || matches!(s, Stmt::Block(..)) {
                        return Err(e);
                    }
                    self.ctx_done = true;
                    let (line, kind) = s.line_kind();
                    return Err(add_context(e, &self.context_line(line, kind)));
                }
            }
        }
        Ok(Flow::Normal)
    }

    /// Runs a loop body; `Some(flow)` ends the loop with that flow.
    fn loop_step(
        &mut self,
        host: &mut dyn Host,
        label: &Option<String>,
        body: &[Stmt],
    ) -> Result<Option<Flow>, PgError> {
        host.check_interrupts()?;
        match self.stmts(host, body)? {
            Flow::Normal => Ok(None),
            Flow::Exit(None) => Ok(Some(Flow::Normal)),
            Flow::Exit(Some(l)) if Some(&l) == label.as_ref() => Ok(Some(Flow::Normal)),
            Flow::Continue(None) => Ok(None),
            Flow::Continue(Some(l)) if Some(&l) == label.as_ref() => Ok(None),
            f => Ok(Some(f)),
        }
    }

    fn stmt(&mut self, host: &mut dyn Host, s: &Stmt) -> Result<Flow, PgError> {
        match s {
            Stmt::Null => {}
            Stmt::Open {
                var, scroll, what, ..
            } => {
                let (p, vals, text) = match what {
                    OpenWhat::Bound(args) => self.bound_query(host, *var, args)?,
                    OpenWhat::Query(q) => {
                        let (p, vals) = self.prepared(host, q)?;
                        (p, vals, q.orig.clone())
                    }
                    OpenWhat::Execute(q, using) => {
                        let (p, vals, text) = self.dynamic_plan(host, q, using)?;
                        (Rc::new(p), vals, text)
                    }
                };
                let scroll = match what {
                    OpenWhat::Bound(_) => self.f.vars[*var].cursor.as_ref().and_then(|c| c.scroll),
                    _ => *scroll,
                };
                self.open_cursor(host, *var, &p, vals, scroll, &text)?;
            }
            Stmt::Fetch {
                var,
                dir,
                count,
                into,
                ..
            } => {
                use crate::cursor::Direction as D;
                let name = self.portal_name(*var)?;
                let dir = match count {
                    None => *dir,
                    Some(c) => {
                        let v = self.eval(host, c, Some(Ty::new(types::INT8)))?;
                        let n = match v {
                            Value::Int8(n) => n,
                            _ => {
                                return Err(PgError::error(
                                    SqlState::new("22004"),
                                    "FETCH count cannot be null",
                                ))
                            }
                        };
                        match dir {
                            D::Absolute(_) => D::Absolute(n),
                            D::Relative(_) => D::Relative(n),
                            D::Forward(_) => D::Forward(n),
                            D::Backward(_) => D::Backward(n),
                        }
                    }
                };
                let mut c = cursor_store(host)?.take(&name)?;
                let cols: Vec<(String, Oid)> = c
                    .columns()
                    .iter()
                    .map(|c| (c.name.clone(), c.type_oid))
                    .collect();
                let mut rows = Vec::new();
                let r = c.fetch(dir, into.is_some().then_some(&mut rows), host);
                cursor_store(host)?.put_back(c);
                let n = r?;
                match into {
                    Some(targets) => {
                        self.row_count = rows.len() as i64;
                        self.set_found(!rows.is_empty());
                        self.assign_row(targets, &cols, rows.into_iter().next())?;
                    }
                    None => {
                        self.row_count = n as i64;
                        self.set_found(n > 0);
                    }
                }
            }
            Stmt::Close(_, var) => {
                let name = self.portal_name(*var)?;
                cursor_store(host)?.close(Some(&name))?;
            }
            Stmt::ForCursor {
                label,
                targets,
                var,
                args,
                body,
                ..
            } => {
                let (p, vals, text) = self.bound_query(host, *var, args)?;
                let scroll = self.f.vars[*var].cursor.as_ref().and_then(|c| c.scroll);
                let name = self.open_cursor(host, *var, &p, vals, scroll, &text)?;
                let cols: Vec<(String, Oid)> = p
                    .columns()
                    .iter()
                    .map(|c| (c.name.clone(), c.type_oid))
                    .collect();
                let mut found = false;
                let flow = loop {
                    let mut c = cursor_store(host)?.take(&name)?;
                    let mut rows = Vec::new();
                    let r = c.fetch(crate::cursor::Direction::Forward(1), Some(&mut rows), host);
                    cursor_store(host)?.put_back(c);
                    r?;
                    let Some(row) = rows.pop() else {
                        break None;
                    };
                    found = true;
                    self.assign_row(targets, &cols, Some(row))?;
                    if let Some(f) = self.loop_step(host, label, body)? {
                        break Some(f);
                    }
                };
                // The loop's portal ends with it (the body may have
                // closed it already).
                let _ = cursor_store(host)?.close(Some(&name));
                self.set_found(found);
                if let Some(f) = flow {
                    return Ok(f);
                }
            }
            Stmt::Assign(_, t, e) => {
                let want = match t {
                    Target::Var(v) => match &self.f.vars[*v].ty {
                        VarType::Scalar(t) => Some(*t),
                        _ => None,
                    },
                    Target::Field(..) => None,
                };
                if self.assign_simple(host, t, e)? {
                    return Ok(Flow::Normal);
                }
                let (cols, rows, _) = self.run(host, e, Some(2))?;
                if rows.len() > 1 {
                    return Err(PgError::error(
                        SqlState::new("21000"),
                        format!("query \"{}\" returned more than one row", e.text),
                    ));
                }
                if cols.len() != 1 {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        format!("query \"{}\" returned {} columns", e.text, cols.len()),
                    ));
                }
                let _ = want;
                let v = rows
                    .into_iter()
                    .next()
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or(Value::Null);
                self.assign(t, v, cols[0].1)?;
            }
            Stmt::If(_, arms, else_) => {
                for (c, body) in arms {
                    if self.eval_bool(host, c)? {
                        return self.stmts(host, body);
                    }
                }
                return self.stmts(host, else_);
            }
            Stmt::Case {
                subject,
                whens,
                else_,
                ..
            } => {
                if let Some((slot, e)) = subject {
                    let v = self.eval(host, e, None)?;
                    self.vals[*slot] = Val::Scalar(v);
                }
                for (c, body) in whens {
                    if self.eval_bool(host, c)? {
                        return self.stmts(host, body);
                    }
                }
                match else_ {
                    Some(b) => return self.stmts(host, b),
                    None => {
                        return Err(PgError::error(SqlState::new("20000"), "case not found")
                            .with_hint("CASE statement is missing ELSE part."))
                    }
                }
            }
            Stmt::Loop(_, label, body) => loop {
                if let Some(f) = self.loop_step(host, label, body)? {
                    return Ok(f);
                }
            },
            Stmt::While(_, label, cond, body) => {
                while self.eval_bool(host, cond)? {
                    if let Some(f) = self.loop_step(host, label, body)? {
                        return Ok(f);
                    }
                }
            }
            Stmt::ForInt {
                label,
                var,
                reverse,
                lo,
                hi,
                by,
                body,
                ..
            } => {
                let int = Some(Ty::new(types::INT4));
                let lo_v = self.eval(host, lo, int)?;
                let hi_v = self.eval(host, hi, int)?;
                let (Value::Int4(lo_i), Value::Int4(hi_i)) = (&lo_v, &hi_v) else {
                    return Err(PgError::error(
                        SqlState::new("22004"),
                        if lo_v.is_null() {
                            "lower bound of FOR loop cannot be null"
                        } else {
                            "upper bound of FOR loop cannot be null"
                        },
                    ));
                };
                let step = match by {
                    Some(b) => match self.eval(host, b, int)? {
                        Value::Int4(s) if s > 0 => s as i64,
                        Value::Null => {
                            return Err(PgError::error(
                                SqlState::new("22004"),
                                "BY value of FOR loop cannot be null",
                            ))
                        }
                        _ => {
                            return Err(PgError::error(
                                sqlstate::INVALID_PARAMETER_VALUE,
                                "BY value of FOR loop must be greater than zero",
                            ))
                        }
                    },
                    None => 1,
                };
                let (mut i, end) = (*lo_i as i64, *hi_i as i64);
                let mut found = false;
                while if *reverse { i >= end } else { i <= end } {
                    found = true;
                    self.vals[*var] = Val::Scalar(Value::Int4(i as i32));
                    if let Some(f) = self.loop_step(host, label, body)? {
                        self.set_found(true);
                        return Ok(f);
                    }
                    if *reverse {
                        i -= step;
                    } else {
                        i += step;
                    }
                }
                self.set_found(found);
            }
            Stmt::ForQuery {
                label,
                targets,
                query,
                dynamic,
                body,
                ..
            } => {
                next_unnamed_portal();
                let (cols, rows) = match dynamic {
                    None => {
                        let (c, r, _) = self.run(host, query, None)?;
                        (c, r)
                    }
                    Some(using) => {
                        let (c, r, _) = self.dynamic(host, query, using, None)?;
                        (c, r)
                    }
                };
                let found = !rows.is_empty();
                for r in rows {
                    self.assign_row(targets, &cols, Some(r))?;
                    if let Some(f) = self.loop_step(host, label, body)? {
                        self.set_found(true);
                        return Ok(f);
                    }
                }
                self.set_found(found);
            }
            Stmt::Exit {
                cont, label, cond, ..
            } => {
                if let Some(c) = cond {
                    if !self.eval_bool(host, c)? {
                        return Ok(Flow::Normal);
                    }
                }
                return Ok(if *cont {
                    Flow::Continue(label.clone())
                } else {
                    Flow::Exit(label.clone())
                });
            }
            Stmt::Return(_, e) => {
                if let (Some(e), true) = (e, self.def.ret == crate::trigger::TRIGGER) {
                    self.ret = Some(self.trigger_result(host, e)?);
                    return Ok(Flow::Return);
                }
                if let Some(e) = e {
                    if self.def.retset || self.def.ret == types::VOID {
                        if self.def.kind == b'p' {
                            return Err(PgError::error(
                                sqlstate::SYNTAX_ERROR,
                                "RETURN cannot have a parameter in a procedure",
                            ));
                        }
                    } else {
                        let want = Ty::new(self.def.ret);
                        self.ret = Some(self.eval(host, e, Some(want))?);
                    }
                }
                return Ok(Flow::Return);
            }
            Stmt::ReturnNext(_, e) => {
                if !self.def.retset {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        "cannot use RETURN NEXT in a non-SETOF function",
                    ));
                }
                // A row or record variable: its fields are the row.
                if let Some(e) = e {
                    if let ([ParamRef::Var(slot)], "SELECT $1") =
                        (e.params.as_slice(), e.text.trim())
                    {
                        if let Val::Row(r) = &self.vals[*slot] {
                            let Some(r) = r else {
                                return Err(PgError::error(
                                    SqlState::new("55000"),
                                    format!("record \"{}\" is not assigned yet", self.f.vars[*slot].name),
                                )
                                .with_detail("The tuple structure of a not-yet-assigned record is indeterminate."));
                            };
                            let mut row = Vec::with_capacity(r.len());
                            for (i, (_, t, v)) in r.iter().enumerate() {
                                let want = self.def.out_cols.get(i).map_or(*t, |c| c.1);
                                row.push(if v.is_null() || want == *t {
                                    v.clone()
                                } else {
                                    crate::cast::cast(v.clone(), *t, Ty::new(want), self.now)?
                                });
                            }
                            self.set.push(row);
                            return Ok(Flow::Normal);
                        }
                    }
                }
                match e {
                    Some(e) if self.f.outs.is_empty() => {
                        let (cols, rows, _) = self.run(host, e, Some(2))?;
                        let row = rows.into_iter().next().unwrap_or_default();
                        let want = Ty::new(self.def.ret);
                        if self.def.ret == types::RECORD || cols.len() != 1 {
                            // A record or row variable: its fields.
                            match row.into_iter().next() {
                                Some(Value::Record(fields)) => {
                                    self.set.push(fields.into_iter().map(|f| f.1).collect())
                                }
                                Some(v) => self.set.push(vec![v]),
                                None => {}
                            }
                        } else {
                            let v = row.into_iter().next().unwrap_or(Value::Null);
                            let v = if v.is_null() || cols[0].1 == want.oid {
                                v
                            } else {
                                crate::cast::cast(v, cols[0].1, want, self.now)?
                            };
                            self.set.push(vec![v]);
                        }
                    }
                    _ => {
                        let row = self
                            .f
                            .outs
                            .iter()
                            .map(|&s| match &self.vals[s] {
                                Val::Scalar(v) => v.clone(),
                                Val::Row(_) => Value::Null,
                            })
                            .collect();
                        self.set.push(row);
                    }
                }
            }
            Stmt::ReturnQuery(_, q) => {
                if !self.def.retset {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        "cannot use RETURN QUERY in a non-SETOF function",
                    ));
                }
                let (_, rows, _) = self.run(host, q, None)?;
                self.row_count = rows.len() as i64;
                self.set_found(!rows.is_empty());
                self.set.extend(rows);
            }
            Stmt::ReturnQueryExec(_, q, using) => {
                if !self.def.retset {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        "cannot use RETURN QUERY in a non-SETOF function",
                    ));
                }
                let (_, rows, _) = self.dynamic(host, q, using, None)?;
                self.row_count = rows.len() as i64;
                self.set_found(!rows.is_empty());
                self.set.extend(rows);
            }
            Stmt::Foreach {
                label,
                targets,
                slice,
                array,
                body,
                ..
            } => return self.foreach(host, label, targets, *slice, array, body),
            Stmt::Raise {
                level,
                code,
                default_msg,
                fmt,
                args,
                options,
                line,
            } => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    let v = self.eval(host, a, None)?;
                    // A reg* value prints as its name (regclass's output
                    // function), which needs the catalog.
                    let text = match (&v, a.plan.borrow().as_ref()) {
                        (Value::Oid(o), Some((_, _, p, _)))
                            if p.columns()
                                .first()
                                .is_some_and(|c| types::is_reg(c.type_oid)) =>
                        {
                            Some((p.columns()[0].type_oid, *o))
                        }
                        _ => None,
                    };
                    vals.push(match text {
                        Some((t, o)) => crate::reg::output(host, t, o)?,
                        None => to_text(&v).unwrap_or_else(|| "<NULL>".to_string()),
                    });
                }
                let mut msg = match fmt {
                    Some(f) => format_raise(f, &vals),
                    None => String::new(),
                };
                let mut code = code.clone();
                let mut detail = None;
                let mut hint = None;
                let mut seen: Vec<&str> = Vec::new();
                for (name, e) in options {
                    // exec_stmt_raise: an option given twice, or
                    // MESSAGE/ERRCODE also given before USING.
                    let twice = seen.contains(&name.as_str())
                        || (name == "MESSAGE" && fmt.is_some())
                        || (name == "ERRCODE" && !default_msg.is_empty());
                    if twice {
                        return Err(PgError::error(
                            sqlstate::SYNTAX_ERROR,
                            format!("RAISE option already specified: {name}"),
                        ));
                    }
                    seen.push(name.as_str());
                    let v = self.eval(host, e, Some(Ty::new(types::TEXT)))?;
                    let Some(v) = to_text(&v) else {
                        return Err(PgError::error(
                            SqlState::new("22004"),
                            "RAISE statement option cannot be null".to_string(),
                        ));
                    };
                    match name.as_str() {
                        "MESSAGE" => msg = v,
                        "DETAIL" => detail = Some(v),
                        "HINT" => hint = Some(v),
                        "ERRCODE" => {
                            code = Some(match condition_code(&v) {
                                Some(c) => c.to_string(),
                                None if v.len() == 5 => v,
                                None => {
                                    return Err(PgError::error(
                                        crate::routine::codes::UNDEFINED_OBJECT,
                                        format!("unrecognized exception condition \"{v}\""),
                                    ))
                                }
                            })
                        }
                        "COLUMN" | "CONSTRAINT" | "DATATYPE" | "TABLE" | "SCHEMA" => {}
                        other => {
                            return Err(PgError::error(
                                sqlstate::SYNTAX_ERROR,
                                format!(
                                    "unrecognized RAISE statement option \"{}\"",
                                    other.to_lowercase()
                                ),
                            ))
                        }
                    }
                }
                if fmt.is_none() && msg.is_empty() {
                    msg = match &code {
                        _ if !default_msg.is_empty() => default_msg.clone(),
                        Some(c) => condition_name(c).unwrap_or(c).to_string(),
                        None => "unrecognized exception condition".into(),
                    };
                }
                let default_code = if *level == Severity::Error {
                    "P0001"
                } else {
                    "00000"
                };
                let code_s = code.unwrap_or_else(|| default_code.to_string());
                if code_s.len() != 5
                    || !code_s
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
                {
                    return Err(PgError::error(
                        sqlstate::SYNTAX_ERROR,
                        format!("invalid SQLSTATE code \"{code_s}\""),
                    ));
                }
                let mut e = PgError::new(*level, SqlState::new(&code_s), msg);
                if let Some(d) = detail {
                    e = e.with_detail(d);
                }
                if let Some(h) = hint {
                    e = e.with_hint(h);
                }
                if *level == Severity::Error {
                    return Err(e);
                }
                let e = add_context(e, &self.context_line(*line, "RAISE"));
                host.notice(e);
            }
            Stmt::Reraise(_) => {
                let Some(e) = self.caught.last().cloned() else {
                    return Err(PgError::error(
                        SqlState::new("0Z002"),
                        "RAISE without parameters cannot be used outside an exception handler",
                    ));
                };
                self.ctx_done = true;
                return Err(e);
            }
            Stmt::Perform(_, q) => {
                let (_, rows, _) = self.run(host, q, None)?;
                self.set_found(!rows.is_empty());
                self.row_count = rows.len() as i64;
            }
            Stmt::Exec { sql, into, .. } => {
                let limit = into.as_ref().map(|(_, strict)| if *strict { 2 } else { 1 });
                let (cols, rows, tag) = self.run(host, sql, limit)?;
                host.command_counter_increment();
                self.finish_into(into, cols, rows, &tag)?;
            }
            Stmt::Dynamic {
                sql, into, using, ..
            } => {
                let limit = into.as_ref().map(|(_, strict)| if *strict { 2 } else { 1 });
                let (cols, rows, tag) = self.dynamic(host, sql, using, limit)?;
                host.command_counter_increment();
                // EXECUTE's too-many-rows error has no hint (PostgreSQL's
                // exec_stmt_dynexecute).
                self.finish_into(into, cols, rows, &tag).map_err(|mut e| {
                    if e.code == SqlState::new("P0003") {
                        e.hint = None;
                    }
                    e
                })?;
            }
            Stmt::GetDiag(_, stacked, items) => {
                for (slot, item) in items {
                    let v = if *stacked {
                        let Some(e) = self.caught.last() else {
                            return Err(PgError::error(
                                SqlState::new("0Z002"),
                                "GET STACKED DIAGNOSTICS cannot be used outside an exception handler",
                            ));
                        };
                        match item.as_str() {
                            "RETURNED_SQLSTATE" => Value::Text(e.code.as_str().to_string()),
                            "MESSAGE_TEXT" => Value::Text(e.message.clone()),
                            "PG_EXCEPTION_DETAIL" => {
                                Value::Text(e.detail.clone().unwrap_or_default())
                            }
                            "PG_EXCEPTION_HINT" => Value::Text(e.hint.clone().unwrap_or_default()),
                            "PG_EXCEPTION_CONTEXT" => {
                                Value::Text(e.context.as_deref().cloned().unwrap_or_default())
                            }
                            _ => Value::Text(String::new()),
                        }
                    } else {
                        match item.as_str() {
                            "ROW_COUNT" => Value::Int8(self.row_count),
                            "PG_CONTEXT" => Value::Text(self.context_line(0, "GET DIAGNOSTICS")),
                            _ => {
                                return Err(PgError::error(
                                    sqlstate::SYNTAX_ERROR,
                                    format!(
                                        "unrecognized GET DIAGNOSTICS item {}",
                                        item.to_lowercase()
                                    ),
                                ))
                            }
                        }
                    };
                    let from = value_type(&v);
                    self.assign(&Target::Var(*slot), v, from)?;
                }
            }
            Stmt::Block(line, b) => {
                return match self.block(host, b, *line)? {
                    Flow::Exit(Some(l)) if Some(&l) == b.label.as_ref() => Ok(Flow::Normal),
                    f => Ok(f),
                };
            }
            Stmt::Assert(_, c, msg) => {
                let enabled = host
                    .show("plpgsql.check_asserts")
                    .map(|v| v != "off")
                    .unwrap_or(true);
                if enabled {
                    let v = self.eval(host, c, Some(Ty::new(types::BOOL)))?;
                    if !matches!(v, Value::Bool(true)) {
                        let m = match msg {
                            Some(m) => to_text(&self.eval(host, m, Some(Ty::new(types::TEXT)))?)
                                .unwrap_or_else(|| "assertion failed".into()),
                            None => "assertion failed".into(),
                        };
                        return Err(PgError::error(SqlState::new("P0004"), m));
                    }
                }
            }
            Stmt::Transaction(_, what) => {
                let commit = *what == "COMMIT";
                if !self.nonatomic {
                    return Err(PgError::error(
                        SqlState::new("2D000"),
                        "invalid transaction termination",
                    ));
                }
                if self.sub_depth > 0 {
                    return Err(PgError::error(
                        SqlState::new("2D000"),
                        if commit {
                            "cannot commit while a subtransaction is active"
                        } else {
                            "cannot roll back while a subtransaction is active"
                        },
                    ));
                }
                host.end_transaction_in_procedure(commit)?;
                self.now = host.now();
            }
        }
        Ok(Flow::Normal)
    }

    /// FOREACH over an array's elements (SLICE 0) or its slices of the
    /// last `slice` dimensions, each an array with lower bounds 1.
    fn foreach(
        &mut self,
        host: &mut dyn Host,
        label: &Option<String>,
        targets: &[Target],
        slice: i64,
        array: &Sql,
        body: &[Stmt],
    ) -> Result<Flow, PgError> {
        let (cols, rows, _) = self.run(host, array, Some(2))?;
        let ty = cols.first().map_or(types::UNKNOWN, |c| c.1);
        let v = rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .unwrap_or(Value::Null);
        let a = match v {
            Value::Null => {
                return Err(PgError::error(
                    SqlState::new("22004"),
                    "FOREACH expression must not be null",
                ))
            }
            Value::Array(a) => a,
            _ => {
                return Err(PgError::error(
                    SqlState::new("42804"),
                    format!(
                        "FOREACH expression must yield an array, not type {}",
                        crate::types::sql_name(ty)
                    ),
                ))
            }
        };
        let ndim = a.dims.len() as i64;
        if slice < 0 || slice > ndim {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                format!("slice dimension ({slice}) is out of the valid range 0..{ndim}"),
            ));
        }
        if slice > 0 {
            if let [Target::Var(s)] = targets {
                let is_array = match &self.f.vars[*s].ty {
                    VarType::Scalar(t) => crate::types::array::elem_type(t.oid).is_some(),
                    _ => false,
                };
                if !is_array {
                    return Err(PgError::error(
                        SqlState::new("42804"),
                        "FOREACH ... SLICE loop variable must be of an array type",
                    ));
                }
            }
        }
        let slice = slice as usize;
        let inner_dims: Vec<(i32, i32)> = a.dims[a.dims.len() - slice..]
            .iter()
            .map(|d| (d.0, 1))
            .collect();
        let step: usize = inner_dims.iter().map(|d| d.0 as usize).product();
        let elem = a.elem;
        let from = if slice == 0 { elem } else { ty };
        let mut found = false;
        let mut items = a.items.into_iter();
        loop {
            let v = if slice == 0 {
                match items.next() {
                    Some(v) => v,
                    None => break,
                }
            } else {
                let part: Vec<Value> = items.by_ref().take(step).collect();
                if part.is_empty() {
                    break;
                }
                Value::Array(Box::new(crate::types::array::Array {
                    elem,
                    dims: inner_dims.clone(),
                    items: part,
                }))
            };
            found = true;
            match targets {
                [t] if !matches!(v, Value::Record(_)) => self.assign(t, v, from)?,
                _ => {
                    let (cols, row) = match v {
                        Value::Record(fields) => (
                            fields
                                .iter()
                                .enumerate()
                                .map(|(i, f)| (format!("f{}", i + 1), f.0))
                                .collect::<Vec<_>>(),
                            fields.into_iter().map(|f| f.1).collect(),
                        ),
                        v => (vec![("x".to_string(), from)], vec![v]),
                    };
                    self.assign_row(targets, &cols, Some(row))?;
                }
            }
            if let Some(f) = self.loop_step(host, label, body)? {
                self.set_found(true);
                return Ok(f);
            }
        }
        self.set_found(found);
        Ok(Flow::Normal)
    }

    /// The plan of a statement of the body (kept as [`Self::run`] keeps
    /// it) and its parameter values, for a cursor to run.
    fn prepared(
        &mut self,
        host: &mut dyn Host,
        sql: &Sql,
    ) -> Result<(Rc<crate::Prepared>, Vec<Value>), PgError> {
        let (tys, vals) = self.param_values(sql, &*host)?;
        let generation = host.plan_generation();
        if let (Some((g, t, p, _)), Some(gen)) = (&*sql.plan.borrow(), generation) {
            if *g == gen && *t == tys {
                return Ok((p.clone(), vals));
            }
        }
        let p = plan_single(sql, &tys, &*host)
            .map_err(|e| add_context(e, &format!("SQL statement \"{}\"", sql.orig)))?;
        let p = Rc::new(p);
        if let Some(g) = generation {
            *sql.plan.borrow_mut() = Some((g, tys, p.clone(), None));
        }
        Ok((p, vals))
    }

    /// A bound cursor's query with its arguments assigned (`SELECT e AS
    /// arg, ...` evaluated once, as PostgreSQL does).
    fn bound_query(
        &mut self,
        host: &mut dyn Host,
        var: usize,
        args: &Option<Sql>,
    ) -> Result<(Rc<crate::Prepared>, Vec<Value>, String), PgError> {
        let f = self.f;
        let Some(decl) = f.vars[var].cursor.as_deref() else {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                "cursor variable has no query",
            ));
        };
        if let Some(a) = args {
            let tag = format!("SQL expression \"{}\"", a.orig);
            let (cols, rows, _) = self.run(host, a, Some(1)).map_err(|e| {
                if e.context.as_deref().is_some_and(|c| c.contains(&tag)) {
                    e
                } else {
                    add_context(e, &tag)
                }
            })?;
            let row = rows.into_iter().next().unwrap_or_default();
            for (((_, slot), v), (_, t)) in decl.args.iter().zip(row).zip(cols) {
                self.assign(&Target::Var(*slot), v, t)?;
            }
        }
        let (p, vals) = self.prepared(host, &decl.query)?;
        Ok((p, vals, decl.query.orig.clone()))
    }

    /// The portal name a cursor variable holds (22004 when NULL).
    fn portal_name(&self, var: usize) -> Result<String, PgError> {
        match &self.vals[var] {
            Val::Scalar(v) if !v.is_null() => Ok(to_text(v).unwrap_or_default()),
            _ => Err(PgError::error(
                SqlState::new("22004"),
                format!("cursor variable \"{}\" is null", self.f.vars[var].name),
            )),
        }
    }

    /// OPEN: starts `p` as a portal named by the variable, or under a
    /// new `<unnamed portal n>` name given to the variable when it is
    /// NULL (SPI_cursor_open's naming). Returns the portal's name.
    fn open_cursor(
        &mut self,
        host: &mut dyn Host,
        var: usize,
        p: &crate::Prepared,
        vals: Vec<Value>,
        scroll: Option<bool>,
        text: &str,
    ) -> Result<String, PgError> {
        let name = match &self.vals[var] {
            Val::Scalar(v) if !v.is_null() => to_text(v).unwrap_or_default(),
            _ => loop {
                let name = next_unnamed_portal();
                if !cursor_store(host)?.contains(&name) {
                    break name;
                }
            },
        };
        if cursor_store(host)?.contains(&name) {
            return Err(PgError::error(
                sqlstate::DUPLICATE_CURSOR,
                format!("cursor \"{name}\" already in use"),
            ));
        }
        let rels = host.nested_relations();
        let ex = crate::start(p, vals, host, &*rels)?;
        let now = host.statement_timestamp();
        let opts = crate::cursor::CursorOptions {
            scroll,
            hold: false,
            binary: false,
        };
        let c = crate::cursor::Cursor::new(&name, text, now, opts, p.columns().to_vec(), ex);
        cursor_store(host)?.insert(c)?;
        self.vals[var] = Val::Scalar(Value::Text(name.clone()));
        Ok(name)
    }

    fn dynamic(
        &mut self,
        host: &mut dyn Host,
        sql: &Sql,
        using: &[Sql],
        limit: Option<usize>,
    ) -> Result<(Vec<(String, Oid)>, Vec<crate::exec::Row>, String), PgError> {
        let (p, vals, text) = self.dynamic_plan(host, sql, using)?;
        run_prepared(host, &p, vals, limit)
            .map_err(|e| add_context(e, &format!("SQL statement \"{text}\"")))
    }

    /// EXECUTE's statement planned, with its USING values and its text.
    fn dynamic_plan(
        &mut self,
        host: &mut dyn Host,
        sql: &Sql,
        using: &[Sql],
    ) -> Result<(crate::Prepared, Vec<Value>, String), PgError> {
        let text = self.eval(host, sql, Some(Ty::new(types::TEXT)))?;
        let Some(text) = to_text(&text) else {
            return Err(PgError::error(
                SqlState::new("22004"),
                "query string argument of EXECUTE is null",
            ));
        };
        let mut tys = Vec::new();
        let mut vals = Vec::new();
        for u in using {
            let (cols, rows, _) = self.run(host, u, Some(1))?;
            tys.push(cols.first().map_or(types::TEXT, |c| c.1));
            vals.push(
                rows.into_iter()
                    .next()
                    .and_then(|r| r.into_iter().next())
                    .unwrap_or(Value::Null),
            );
        }
        let stmts = crate::parse(&text)
            .map_err(|e| add_context(e, &format!("SQL statement \"{text}\"")))?;
        if stmts.len() != 1 {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "EXECUTE of several statements is not supported",
            ));
        }
        let p = crate::prepare(&stmts[0], &tys, &*host)
            .map_err(|e| add_context(e, &format!("SQL statement \"{text}\"")))?;
        Ok((p, vals, text))
    }

    fn finish_into(
        &mut self,
        into: &Option<(Vec<Target>, bool)>,
        cols: Vec<(String, Oid)>,
        rows: Vec<crate::exec::Row>,
        tag: &str,
    ) -> Result<(), PgError> {
        let count = tag
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(rows.len() as i64);
        match into {
            None => {
                self.row_count = count;
                let changed = count > 0;
                self.set_found(changed);
            }
            Some((targets, strict)) => {
                if *strict && rows.is_empty() {
                    return Err(PgError::error(
                        SqlState::new("P0002"),
                        "query returned no rows",
                    ));
                }
                if *strict && rows.len() > 1 {
                    return Err(PgError::error(
                        SqlState::new("P0003"),
                        "query returned more than one row",
                    )
                    .with_hint("Make sure the query returns a single row, or use LIMIT 1."));
                }
                self.row_count = rows.len().min(1) as i64;
                self.set_found(!rows.is_empty());
                self.assign_row(targets, &cols, rows.into_iter().next())?;
            }
        }
        Ok(())
    }
}

thread_local! {
    /// The last `<unnamed portal n>` number given to an OPEN of a NULL
    /// cursor variable in this backend.
    static UNNAMED_PORTAL: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The next `<unnamed portal n>` name. PostgreSQL's FOR loops over a
/// query run it as such a portal too, so they take a number as well:
/// the names an OPEN gives match PostgreSQL's.
fn next_unnamed_portal() -> String {
    let n = UNNAMED_PORTAL.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    format!("<unnamed portal {n}>")
}

/// The session's cursors (PL/pgSQL's portals are the SQL cursors).
fn cursor_store(host: &mut dyn Host) -> Result<&mut crate::cursor::Cursors, PgError> {
    host.cursors().ok_or_else(|| {
        PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "cursors are not supported by this host",
        )
    })
}

/// Runs a prepared statement inside a function and collects at most
/// `limit` rows.
fn run_prepared(
    host: &mut dyn Host,
    p: &crate::Prepared,
    vals: Vec<Value>,
    limit: Option<usize>,
) -> Result<(Vec<(String, Oid)>, Vec<crate::exec::Row>, String), PgError> {
    let rels = host.nested_relations();
    let mut ex = crate::start(p, vals, host, &*rels)?;
    let mut rows = Vec::new();
    while let Some(r) = ex.next(host)? {
        rows.push(r);
        if limit.is_some_and(|l| rows.len() >= l) {
            break;
        }
    }
    let cols = p
        .columns()
        .iter()
        .map(|c| (c.name.clone(), c.type_oid))
        .collect();
    Ok((cols, rows, ex.tag()))
}

fn condition_name(code: &str) -> Option<&'static str> {
    Some(match code {
        "P0001" => "raise_exception",
        "P0002" => "no_data_found",
        "P0003" => "too_many_rows",
        "22012" => "division_by_zero",
        "23505" => "unique_violation",
        _ => return None,
    })
}

fn format_raise(f: &str, args: &[String]) -> String {
    let mut out = String::new();
    let mut it = f.chars().peekable();
    let mut k = 0;
    while let Some(c) = it.next() {
        if c == '%' {
            if it.peek() == Some(&'%') {
                it.next();
                out.push('%');
            } else {
                out.push_str(args.get(k).map(String::as_str).unwrap_or(""));
                k += 1;
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The type of a value whose declared type is not known (CASE's
/// subject, GET DIAGNOSTICS items).
fn value_type(v: &Value) -> Oid {
    match v {
        Value::Null => types::TEXT,
        Value::Bool(_) => types::BOOL,
        Value::Int2(_) => types::INT2,
        Value::Int4(_) => types::INT4,
        Value::Int8(_) => types::INT8,
        Value::Float4(_) => types::FLOAT4,
        Value::Float8(_) => types::FLOAT8,
        Value::Numeric(_) => types::NUMERIC,
        Value::Text(_) => types::TEXT,
        Value::Name(_) => types::NAME,
        Value::Char(_) => types::CHAR,
        Value::Bytea(_) => types::BYTEA,
        Value::Oid(_) => types::OID,
        Value::TimestampTz(_) => types::TIMESTAMPTZ,
        Value::Timestamp(_) => types::TIMESTAMP,
        Value::Date(_) => types::DATE,
        Value::Inet(_) => types::INET,
        Value::Lsn(_) => types::PG_LSN,
        Value::Xid8(_) => types::XID8,
        Value::Record(_) => types::RECORD,
        Value::Void => types::VOID,
        Value::Json(_) => types::JSON,
        Value::Jsonb(_) => types::JSONB,
        Value::Array(a) => crate::types::array::array_type(a.elem).unwrap_or(types::TEXT),
        Value::Interval(_) => types::INTERVAL,
        Value::Time(_) => types::TIME,
        Value::TimeTz(_) => types::TIMETZ,
        Value::Reg(..) => types::OID,
        Value::Enum(e) => e.typ,
        Value::Uuid(_) => types::UUID,
        Value::Money(_) => types::MONEY,
        Value::Bits(_) => types::VARBIT,
        Value::Geo(g) => g.oid(),
        Value::Range(r) => r.ty,
        Value::Multirange(m) => m.ty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_format_fills_placeholders_and_keeps_double_percent() {
        let args = vec!["1".to_string(), "<NULL>".to_string()];
        assert_eq!(format_raise("a % b % c %%", &args), "a 1 b <NULL> c %");
        assert_eq!(count_placeholders("% %% %"), 2);
    }

    #[test]
    fn for_headers_split_into_range_and_step() {
        assert!(header_has_range("1..n"));
        assert!(!header_has_range("SELECT '..' FROM t"));
        assert_eq!(
            split_range("a + 1 .. b"),
            ("a + 1".to_string(), "b".to_string())
        );
        assert_eq!(
            split_by("10 BY 3"),
            ("10".to_string(), Some("3".to_string()))
        );
        assert_eq!(split_by("maybe"), ("maybe".to_string(), None));
    }

    #[test]
    fn variables_become_parameters_but_columns_and_aliases_do_not() {
        let vars = ["x", "r", "n"];
        let mut params = Vec::new();
        let out = substitute_vars(
            "INSERT INTO t (x, n) SELECT x AS n, r.a, t.x, n + x FROM t",
            &|name, field| {
                let slot = vars.iter().position(|v| *v == name)?;
                Some(match (name, field) {
                    ("r", Some(f)) => ParamRef::Field(slot, f.to_string()),
                    _ => ParamRef::Var(slot),
                })
            },
            &|_, _, _| None,
            &mut params,
        );
        assert_eq!(
            out,
            "INSERT INTO t (x, n) SELECT $1 AS n, $2, t.x, $3 + $1 FROM t"
        );
        assert_eq!(
            params,
            vec![
                ParamRef::Var(0),
                ParamRef::Field(1, "a".into()),
                ParamRef::Var(2)
            ]
        );
    }

    #[test]
    fn condition_names_map_to_sqlstates_and_others_skips_cancel() {
        assert_eq!(condition_code("division_by_zero"), Some("22012"));
        assert_eq!(condition_code("no_such_condition"), None);
        assert!(matches_cond(&["OTHERS".into()], "22012"));
        assert!(!matches_cond(&["OTHERS".into()], "57014"));
        assert!(matches_cond(&["22000".into()], "22012"));
        assert!(!matches_cond(&["23505".into()], "23502"));
    }
}
