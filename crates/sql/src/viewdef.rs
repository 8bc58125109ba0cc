//! pg_get_viewdef: a view's stored query printed back as PostgreSQL 15's ruleutils prints a query tree.
//!
//! Why this shape: tusk keeps a view as its query text (view.rs), while
//! PostgreSQL keeps a parse tree and prints it back in a canonical form:
//! every column qualified by its range table entry's (unique) name, `AS`
//! wherever the output name differs from the expression's own, constants
//! with their resolved type (`'foo'::text`), one target per line, clause
//! keywords on lines of their own, parentheses by operator precedence in
//! pretty mode and around every operator otherwise. That output is what
//! psql's `\d+` and pg_dump show, so it is rebuilt here from the query's
//! syntax tree, with the names it reads resolved against the catalog the
//! way the binder resolves them (FROM items in order, USING merges, the
//! enclosing queries' names for correlated subqueries). A form not known
//! here makes the whole deparse give up (`Err(Unsupported)`): the caller
//! then shows the text as written, never a half-deparsed query.

use sqlparser::ast;

use crate::bind::ident_name;
use crate::catalog::{self, Relation};
use crate::host::Host;
use crate::routine::quote_ident as quote;
use crate::types::{self, Ty};

/// This query form is not deparsed here.
#[derive(Debug)]
struct Unsupported;

type R<T> = Result<T, Unsupported>;

/// An output column of a query: its name and type when known.
type OutCol = (String, Option<Ty>);

const INDENT_STD: i32 = 8;
const INDENT_JOIN: i32 = 4;
const INDENT_VAR: i32 = 4;

/// `text`, a view's query, as pg_get_viewdef prints it (without the
/// closing `;`); None when it uses a form this deparser does not know.
pub(crate) fn deparse_view(
    host: &mut dyn Host,
    view: &Relation,
    text: &str,
    pretty: bool,
) -> Option<String> {
    let q = crate::view::parse_query_text(text).ok()?;
    let names: Vec<String> = view.columns.iter().map(|c| c.name.clone()).collect();
    let mut dp = Dp {
        host,
        pretty,
        buf: String::new(),
        indent: 0,
        // PostgreSQL 15's view rules keep OLD and NEW in the range table:
        // their names are taken.
        levels: vec![Level {
            names: vec!["old".into(), "new".into()],
            ..Level::default()
        }],
    };
    dp.query(&q, Some(&names), true, 0).ok()?;
    Some(dp.buf)
}

/// One column a name may refer to: its name, how a reference to it
/// prints, its type when known.
#[derive(Clone, Debug)]
struct Col {
    name: String,
    text: String,
    ty: Option<Ty>,
}

/// `(a, b)`: a FROM item's column alias list.
fn column_list(names: &[String]) -> String {
    format!(
        "({})",
        names
            .iter()
            .map(|n| quote(n))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The columns of a FROM item named `refname`, each shown qualified by it.
fn qualified(refname: &str, names: &[String], types: impl Iterator<Item = Option<Ty>>) -> Vec<Col> {
    names
        .iter()
        .zip(types)
        .map(|(n, ty)| Col {
            name: n.clone(),
            text: format!("{}.{}", quote(refname), quote(n)),
            ty,
        })
        .collect()
}

/// A FROM item that can be named in a qualified reference.
#[derive(Clone, Debug, Default)]
struct Entry {
    /// The name the query uses for it (alias or relation name).
    written: String,
    cols: Vec<Col>,
}

/// The names of one query level.
#[derive(Clone, Debug, Default)]
struct Level {
    /// Range table names assigned at this level (unique across levels).
    names: Vec<String>,
    entries: Vec<Entry>,
    /// Columns of each top-level FROM item, for unqualified names and `*`.
    top: Vec<Vec<Col>>,
    /// WITH queries of this level: name and output columns.
    ctes: Vec<(String, Vec<OutCol>)>,
    /// The select list's output names and expressions, for ORDER BY /
    /// GROUP BY references by name or number.
    targets: Vec<(String, String, Option<Ty>)>,
}

struct Dp<'h> {
    host: &'h mut dyn Host,
    pretty: bool,
    buf: String,
    indent: i32,
    levels: Vec<Level>,
}

/// How an expression node takes part in parenthesisation (ruleutils'
/// isSimpleNode): the node kinds that matter.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    /// Names, constants, function-like forms, CASE: never parenthesised.
    Simple,
    /// A binary operator (its name).
    Op(&'static str),
    And,
    Or,
    Not,
    /// IS NULL, IS TRUE, IS DISTINCT FROM, sublinks and the like.
    Other,
    /// `x = ANY (ARRAY[...])`, COLLATE: parenthesised anywhere but at the top.
    Complex,
}

/// What an expression is printed inside.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Parent {
    /// A clause (WHERE, a target, ON): no parentheses at the top.
    Top,
    /// Function-like: its own parentheses or separators.
    Func,
    /// An explicit cast `x::t`.
    Cast,
    Op(&'static str, bool),
    Bool(Kind),
}

fn is_simple(kind: Kind, parent: Parent) -> bool {
    match kind {
        Kind::Simple => true,
        Kind::Op(op) => match parent {
            Parent::Op(pop, first) => {
                let lo = |o: &str| o == "+" || o == "-";
                let hi = |o: &str| o == "*" || o == "/" || o == "%";
                if !(lo(op) || hi(op)) || !(lo(pop) || hi(pop)) {
                    return false;
                }
                if hi(op) && lo(pop) {
                    return true;
                }
                if lo(op) && hi(pop) {
                    return false;
                }
                first
            }
            Parent::Func | Parent::Bool(_) => true,
            _ => false,
        },
        Kind::Other => matches!(parent, Parent::Func | Parent::Bool(_)),
        Kind::Complex => false,
        Kind::And | Kind::Or | Kind::Not => match parent {
            Parent::Bool(p) => match kind {
                Kind::Not | Kind::And => matches!(p, Kind::And | Kind::Or),
                _ => p == Kind::Or,
            },
            Parent::Func => true,
            _ => false,
        },
    }
}

fn ty(oid: u32) -> Option<Ty> {
    Some(Ty::new(oid))
}

impl Dp<'_> {
    // ---- output, as ruleutils' appendContextKeyword ----

    fn keyword(&mut self, s: &str, before: i32, after: i32, plus: i32) {
        self.indent += before;
        let t = self.buf.trim_end_matches(' ').len();
        self.buf.truncate(t);
        self.buf.push('\n');
        let n = self.indent.max(0) + plus;
        self.buf.extend(std::iter::repeat_n(' ', n.max(0) as usize));
        self.buf.push_str(s);
        self.indent += after;
        if self.indent < 0 {
            self.indent = 0;
        }
    }

    /// Runs `f` writing into a buffer of its own and returns that text.
    fn capture(&mut self, f: impl FnOnce(&mut Self) -> R<()>) -> R<String> {
        let saved = std::mem::take(&mut self.buf);
        let r = f(self);
        let out = std::mem::replace(&mut self.buf, saved);
        r.map(|_| out)
    }

    fn format_type(&mut self, t: Ty) -> String {
        let m = if t.typmod >= 0 { Some(t.typmod) } else { None };
        crate::sysinfo::format_type(self.host, t.oid, m).unwrap_or_else(|_| types::sql_name(t.oid))
    }

    // ---- queries ----

    /// get_query_def: `names` are the view's column names (top level of a
    /// view or set operation arm), `visible` whether output names show.
    fn query(
        &mut self,
        q: &ast::Query,
        names: Option<&[String]>,
        visible: bool,
        indent: i32,
    ) -> R<()> {
        let saved = self.indent;
        self.indent = indent;
        self.levels.push(Level::default());
        let r = self.query_body(q, names, visible);
        self.levels.pop();
        self.indent = saved;
        r
    }

    fn query_body(&mut self, q: &ast::Query, names: Option<&[String]>, visible: bool) -> R<()> {
        if q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
            return Err(Unsupported);
        }
        if let Some(w) = &q.with {
            self.with_clause(w)?;
        }
        match &*q.body {
            ast::SetExpr::Select(s) => self.select(s, names, visible, q)?,
            ast::SetExpr::Values(v) => {
                self.indent += INDENT_STD;
                self.buf.push(' ');
                self.values(v)?;
                self.order_limit(q)?;
            }
            ast::SetExpr::SetOperation { .. } => {
                self.setop(&q.body, names, visible)?;
                // ORDER BY of a set operation names output columns: it
                // prints their numbers.
                let out: Vec<String> = match names {
                    Some(n) => n.to_vec(),
                    None => self.output_cols(q)?.into_iter().map(|c| c.0).collect(),
                };
                let lvl = self.levels.last_mut().unwrap();
                lvl.targets = out
                    .iter()
                    .enumerate()
                    .map(|(i, n)| (n.clone(), (i + 1).to_string(), None))
                    .collect();
                lvl.top = vec![out
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Col {
                        name: n.clone(),
                        text: (i + 1).to_string(),
                        ty: None,
                    })
                    .collect()];
                self.order_limit(q)?;
            }
            ast::SetExpr::Query(inner) => {
                if q.order_by.is_some() || q.limit_clause.is_some() {
                    return Err(Unsupported);
                }
                self.query_body(inner, names, visible)?;
            }
            _ => return Err(Unsupported),
        }
        Ok(())
    }

    fn with_clause(&mut self, w: &ast::With) -> R<()> {
        let mut sep = "";
        self.indent += INDENT_STD;
        self.buf.push(' ');
        self.buf.push_str("WITH ");
        if w.recursive {
            self.buf.push_str("RECURSIVE ");
        }
        for cte in &w.cte_tables {
            self.buf.push_str(sep);
            sep = ", ";
            let name = ident_name(&cte.alias.name);
            self.buf.push_str(&quote(&name));
            let mut cols: Vec<(String, Option<Ty>)> = Vec::new();
            if !cte.alias.columns.is_empty() {
                let list: Vec<String> = cte
                    .alias
                    .columns
                    .iter()
                    .map(|c| ident_name(&c.name))
                    .collect();
                self.buf.push('(');
                self.buf
                    .push_str(&list.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", "));
                self.buf.push(')');
                cols = list.into_iter().map(|c| (c, None)).collect();
            }
            self.buf.push_str(" AS ");
            if let Some(m) = &cte.materialized {
                match m {
                    ast::CteAsMaterialized::Materialized => self.buf.push_str("MATERIALIZED "),
                    ast::CteAsMaterialized::NotMaterialized => {
                        self.buf.push_str("NOT MATERIALIZED ")
                    }
                }
            }
            self.buf.push('(');
            if self.pretty {
                self.keyword("", 0, 0, 0);
            }
            // A recursive query sees its own name.
            if w.recursive {
                let out = self.output_cols(&cte.query)?;
                let named = if cols.is_empty() {
                    out
                } else {
                    cols.iter()
                        .zip(out.into_iter().map(|o| o.1).chain(std::iter::repeat(None)))
                        .map(|(c, t)| (c.0.clone(), t))
                        .collect()
                };
                self.levels
                    .last_mut()
                    .unwrap()
                    .ctes
                    .push((name.clone(), named));
            }
            let ind = self.indent;
            self.query(&cte.query, None, true, ind)?;
            if self.pretty {
                self.keyword("", 0, 0, 0);
            }
            self.buf.push(')');
            if !w.recursive {
                let out = self.output_cols(&cte.query)?;
                let named = if cols.is_empty() {
                    out
                } else {
                    cols.iter()
                        .zip(out.into_iter().map(|o| o.1).chain(std::iter::repeat(None)))
                        .map(|(c, t)| (c.0.clone(), t))
                        .collect()
                };
                self.levels.last_mut().unwrap().ctes.push((name, named));
            }
        }
        self.indent -= INDENT_STD;
        self.keyword("", 0, 0, 0);
        Ok(())
    }

    /// The output columns of `q` (names and types), found by deparsing it
    /// aside.
    fn output_cols(&mut self, q: &ast::Query) -> R<Vec<(String, Option<Ty>)>> {
        let ind = self.indent;
        let mut out = Vec::new();
        let saved = std::mem::take(&mut self.buf);
        self.levels.push(Level::default());
        let r = (|| -> R<()> {
            if let Some(w) = &q.with {
                self.with_clause(w)?;
            }
            let mut body = &*q.body;
            loop {
                match body {
                    ast::SetExpr::Select(s) => {
                        self.scope_of_from(s)?;
                        let mut targets = Vec::new();
                        self.targets_of(s, &mut targets)?;
                        out = targets.into_iter().map(|t| (t.name, t.ty)).collect();
                        break;
                    }
                    ast::SetExpr::SetOperation { left, .. } => body = left,
                    ast::SetExpr::Query(q) => body = &q.body,
                    ast::SetExpr::Values(v) => {
                        out = (0..v.rows.first().map_or(0, |r| r.len()))
                            .map(|i| {
                                let t = v.rows[0].get(i).and_then(|e| self.expr_ty(e));
                                (format!("column{}", i + 1), t)
                            })
                            .collect();
                        break;
                    }
                    _ => return Err(Unsupported),
                }
            }
            Ok(())
        })();
        self.levels.pop();
        self.buf = saved;
        self.indent = ind;
        r.map(|_| out)
    }

    fn setop(&mut self, body: &ast::SetExpr, names: Option<&[String]>, visible: bool) -> R<()> {
        match body {
            ast::SetExpr::SetOperation {
                op,
                set_quantifier,
                left,
                right,
            } => {
                let word = match op {
                    ast::SetOperator::Union => "UNION ",
                    ast::SetOperator::Intersect => "INTERSECT ",
                    ast::SetOperator::Except => "EXCEPT ",
                    _ => return Err(Unsupported),
                };
                let all = match set_quantifier {
                    ast::SetQuantifier::All => true,
                    ast::SetQuantifier::None | ast::SetQuantifier::Distinct => false,
                    _ => return Err(Unsupported),
                };
                let lparen = match &**left {
                    ast::SetExpr::SetOperation {
                        op: lop,
                        set_quantifier: lq,
                        ..
                    } => !(lop == op && matches!(lq, ast::SetQuantifier::All) == all),
                    _ => false,
                };
                let sub = if lparen {
                    self.buf.push('(');
                    self.keyword("", INDENT_STD, 0, 0);
                    INDENT_STD
                } else {
                    0
                };
                self.setop(left, names, visible)?;
                if lparen {
                    self.keyword(") ", -sub, 0, 0);
                } else {
                    self.keyword("", -sub, 0, 0);
                }
                self.buf.push_str(word);
                if all {
                    self.buf.push_str("ALL ");
                }
                let rparen = matches!(&**right, ast::SetExpr::SetOperation { .. });
                let sub = if rparen {
                    self.buf.push('(');
                    INDENT_STD
                } else {
                    0
                };
                self.keyword("", sub, 0, 0);
                self.setop(right, names, false)?;
                self.indent -= sub;
                if rparen {
                    self.keyword(")", 0, 0, 0);
                }
                Ok(())
            }
            ast::SetExpr::Select(_) | ast::SetExpr::Values(_) => {
                let q = ast::Query {
                    with: None,
                    body: Box::new(body.clone()),
                    order_by: None,
                    limit_clause: None,
                    fetch: None,
                    locks: vec![],
                    for_clause: None,
                    settings: None,
                    format_clause: None,
                    pipe_operators: vec![],
                };
                let ind = self.indent;
                self.query(&q, names, visible, ind)
            }
            ast::SetExpr::Query(q) => {
                let paren = q.with.is_some() || q.order_by.is_some() || q.limit_clause.is_some();
                if paren {
                    self.buf.push('(');
                }
                let ind = self.indent;
                self.query(q, names, visible, ind)?;
                if paren {
                    self.buf.push(')');
                }
                Ok(())
            }
            _ => Err(Unsupported),
        }
    }

    fn values(&mut self, v: &ast::Values) -> R<()> {
        self.buf.push_str("VALUES ");
        let ncols = v.rows.first().map_or(0, |r| r.len());
        // Each column takes the type the rows resolve to together.
        let col_ty: Vec<Option<Ty>> = (0..ncols)
            .map(|i| {
                let mut t = None;
                for r in &v.rows {
                    if let Some(e) = r.get(i).filter(|e| !is_untyped(e)) {
                        if let Some(et) = self.expr_ty(e) {
                            t = Some(match t {
                                None => et,
                                Some(p) => common_type(p, et),
                            });
                        }
                    }
                }
                t
            })
            .collect();
        for (ri, row) in v.rows.iter().enumerate() {
            if ri > 0 {
                self.buf.push_str(", ");
            }
            self.buf.push('(');
            for (i, e) in row.iter().enumerate() {
                if i > 0 {
                    self.buf.push(',');
                }
                // Untyped literals take the column's type, not its typmod.
                let hint = col_ty
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|t| Ty::new(t.oid))
                    .or(ty(types::TEXT));
                let s = self.expr(e, Parent::Top, hint)?;
                self.buf.push_str(&s);
            }
            self.buf.push(')');
        }
        Ok(())
    }

    fn select(
        &mut self,
        s: &ast::Select,
        names: Option<&[String]>,
        visible: bool,
        q: &ast::Query,
    ) -> R<()> {
        if s.into.is_some()
            || s.top.is_some()
            || !s.lateral_views.is_empty()
            || s.prewhere.is_some()
            || s.qualify.is_some()
            || !s.cluster_by.is_empty()
            || !s.distribute_by.is_empty()
            || !s.sort_by.is_empty()
            || s.exclude.is_some()
        {
            return Err(Unsupported);
        }
        self.indent += INDENT_STD;
        self.buf.push(' ');
        // FROM first: it names what the rest refers to.
        let from = self.capture(|d| d.print_from(s))?;
        self.buf.push_str("SELECT");
        match &s.distinct {
            None => {}
            Some(ast::Distinct::Distinct) => self.buf.push_str(" DISTINCT"),
            Some(ast::Distinct::On(es)) => {
                self.buf.push_str(" DISTINCT ON (");
                let mut parts = Vec::new();
                for e in es {
                    parts.push(self.expr(e, Parent::Top, None)?);
                }
                self.buf.push_str(&parts.join(", "));
                self.buf.push(')');
            }
            _ => return Err(Unsupported),
        }
        let mut targets = Vec::new();
        self.targets_of(s, &mut targets)?;
        self.target_list(&targets, names, visible)?;
        self.levels.last_mut().unwrap().targets = targets
            .iter()
            .map(|t| (t.name.clone(), t.text.clone(), t.ty))
            .collect();
        self.buf.push_str(&from);
        if let Some(w) = &s.selection {
            self.keyword(" WHERE ", -INDENT_STD, INDENT_STD, 1);
            let t = self.expr(w, Parent::Top, ty(types::BOOL))?;
            self.buf.push_str(&t);
        }
        match &s.group_by {
            ast::GroupByExpr::Expressions(es, mods) => {
                if !mods.is_empty() {
                    return Err(Unsupported);
                }
                if !es.is_empty() {
                    self.keyword(" GROUP BY ", -INDENT_STD, INDENT_STD, 1);
                    let mut parts = Vec::new();
                    for e in es {
                        parts.push(self.sort_group_expr(e, false)?);
                    }
                    self.buf.push_str(&parts.join(", "));
                }
            }
            ast::GroupByExpr::All(_) => return Err(Unsupported),
        }
        if let Some(h) = &s.having {
            self.keyword(" HAVING ", -INDENT_STD, INDENT_STD, 0);
            let t = self.expr(h, Parent::Top, ty(types::BOOL))?;
            self.buf.push_str(&t);
        }
        if !s.named_window.is_empty() {
            let mut first = true;
            for w in &s.named_window {
                if first {
                    self.keyword(" WINDOW ", -INDENT_STD, INDENT_STD, 0);
                    first = false;
                } else {
                    self.buf.push_str(", ");
                }
                let name = ident_name(&w.0);
                let spec = match &w.1 {
                    ast::NamedWindowExpr::WindowSpec(spec) => self.window_spec(spec)?,
                    ast::NamedWindowExpr::NamedWindow(n) => quote(&ident_name(n)),
                };
                self.buf
                    .push_str(&format!("{} AS ({})", quote(&name), spec));
            }
        }
        self.order_limit(q)
    }

    fn order_limit(&mut self, q: &ast::Query) -> R<()> {
        if let Some(ob) = &q.order_by {
            let ast::OrderByKind::Expressions(items) = &ob.kind else {
                return Err(Unsupported);
            };
            if ob.interpolate.is_some() {
                return Err(Unsupported);
            }
            self.keyword(" ORDER BY ", -INDENT_STD, INDENT_STD, 1);
            let mut parts = Vec::new();
            for it in items {
                let mut t = self.sort_group_expr(&it.expr, true)?;
                let desc = matches!(it.options.sort, Some(ast::OrderBySort::Desc));
                if desc {
                    t.push_str(" DESC");
                }
                match it.options.nulls_first {
                    Some(true) if !desc => t.push_str(" NULLS FIRST"),
                    Some(false) if desc => t.push_str(" NULLS LAST"),
                    _ => {}
                }
                if it.with_fill.is_some() {
                    return Err(Unsupported);
                }
                parts.push(t);
            }
            self.buf.push_str(&parts.join(", "));
        }
        match &q.limit_clause {
            None => {}
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    return Err(Unsupported);
                }
                if let Some(o) = offset {
                    self.keyword(" OFFSET ", -INDENT_STD, INDENT_STD, 0);
                    let t = self.expr(&o.value, Parent::Top, ty(types::INT8))?;
                    self.buf.push_str(&t);
                }
                if let Some(l) = limit {
                    self.keyword(" LIMIT ", -INDENT_STD, INDENT_STD, 0);
                    let t = match l {
                        ast::Expr::Value(v) if matches!(v.value, ast::Value::Null) => {
                            "ALL".to_string()
                        }
                        _ => self.expr(l, Parent::Top, ty(types::INT8))?,
                    };
                    self.buf.push_str(&t);
                }
            }
            Some(_) => return Err(Unsupported),
        }
        Ok(())
    }

    /// A GROUP BY / ORDER BY item (get_rule_sortgroupclause): an output
    /// column named or numbered stands for its expression; a constant
    /// prints as the column's number; anything but a column reference is
    /// parenthesised in pretty mode.
    fn sort_group_expr(&mut self, e: &ast::Expr, order: bool) -> R<String> {
        let lvl = self.levels.last().unwrap();
        if let ast::Expr::Value(v) = e {
            if let ast::Value::Number(n, _) = &v.value {
                let i: usize = n.parse().map_err(|_| Unsupported)?;
                let (_, text, _) = lvl
                    .targets
                    .get(i.wrapping_sub(1))
                    .ok_or(Unsupported)?
                    .clone();
                return Ok(self.sort_wrap(&text, false));
            }
        }
        if let ast::Expr::Identifier(id) = e {
            let name = ident_name(id);
            // ORDER BY names output columns first (SQL92), GROUP BY input
            // columns first.
            if order || self.lookup(std::slice::from_ref(&name)).is_none() {
                if let Some((_, text, _)) = lvl.targets.iter().find(|t| t.0 == name).cloned() {
                    return Ok(self.sort_wrap(&text, false));
                }
            }
        }
        let is_var = matches!(
            e,
            ast::Expr::Identifier(_) | ast::Expr::CompoundIdentifier(_)
        );
        let t = self.expr(e, Parent::Top, None)?;
        Ok(self.sort_wrap(&t, is_var))
    }

    fn sort_wrap(&self, t: &str, is_var: bool) -> String {
        // A target's text that is a plain column reference (no spaces, no
        // parentheses) needs none.
        let plain = is_var
            || t.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '"' || c == '$');
        if plain || !self.pretty && !t.starts_with('(') {
            t.to_string()
        } else {
            format!("({t})")
        }
    }

    // ---- targets ----

    fn targets_of(&mut self, s: &ast::Select, out: &mut Vec<Target>) -> R<()> {
        for item in &s.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    let (text, ty) = self.expr_typed(e, Parent::Top, None)?;
                    let var = self.var_name(e);
                    let name = var.clone().unwrap_or_else(|| figure_colname(e));
                    out.push(Target {
                        text,
                        name,
                        var,
                        ty,
                    });
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    let (text, ty) = self.expr_typed(expr, Parent::Top, None)?;
                    let var = self.var_name(expr);
                    out.push(Target {
                        text,
                        name: ident_name(alias),
                        var,
                        ty,
                    });
                }
                ast::SelectItem::Wildcard(opts) => {
                    if opts_used(opts) {
                        return Err(Unsupported);
                    }
                    let lvl = self.levels.last().unwrap();
                    for item in lvl.top.clone() {
                        for c in item {
                            out.push(Target::of(&c));
                        }
                    }
                }
                ast::SelectItem::ExprWithAliases { .. } => return Err(Unsupported),
                ast::SelectItem::QualifiedWildcard(kind, opts) => {
                    if opts_used(opts) {
                        return Err(Unsupported);
                    }
                    let ast::SelectItemQualifiedWildcardKind::ObjectName(n) = kind else {
                        return Err(Unsupported);
                    };
                    let parts: Vec<String> =
                        n.0.iter()
                            .filter_map(|p| p.as_ident().map(ident_name))
                            .collect();
                    let cols = self
                        .entry_cols(parts.last().ok_or(Unsupported)?)
                        .ok_or(Unsupported)?;
                    for c in cols {
                        out.push(Target::of(&c));
                    }
                }
            }
        }
        Ok(())
    }

    /// The column name a plain column reference prints with (ruleutils'
    /// get_variable result).
    fn var_name(&self, e: &ast::Expr) -> Option<String> {
        let parts = match e {
            ast::Expr::Identifier(i) => vec![ident_name(i)],
            ast::Expr::CompoundIdentifier(ids) => ids.iter().map(ident_name).collect(),
            _ => return None,
        };
        self.lookup(&parts).map(|(c, _)| c.name)
    }

    fn target_list(
        &mut self,
        targets: &[Target],
        names: Option<&[String]>,
        visible: bool,
    ) -> R<()> {
        let mut sep = " ";
        let mut last_multiline = false;
        for (i, t) in targets.iter().enumerate() {
            self.buf.push_str(sep);
            sep = ", ";
            let mut item = t.text.clone();
            let attname: Option<&str> = match &t.var {
                Some(v) => Some(v),
                None if visible => None,
                None => Some("?column?"),
            };
            let colname = names.and_then(|n| n.get(i)).unwrap_or(&t.name);
            if attname != Some(colname.as_str()) {
                item.push_str(" AS ");
                item.push_str(&quote(colname));
            }
            if item.starts_with('\n') {
                let l = self.buf.trim_end_matches(' ').len();
                self.buf.truncate(l);
            } else if i > 0 {
                let _ = last_multiline;
                self.keyword("", -INDENT_STD, INDENT_STD, INDENT_VAR);
            }
            let from = usize::from(item.starts_with('\n'));
            last_multiline = item[from..].contains('\n');
            self.buf.push_str(&item);
        }
        Ok(())
    }

    // ---- FROM ----

    /// Names the FROM items of `s` (range table order) and works out
    /// their columns, without printing.
    fn scope_of_from(&mut self, s: &ast::Select) -> R<()> {
        self.capture(|d| d.print_from(s)).map(|_| ())
    }

    fn print_from(&mut self, s: &ast::Select) -> R<()> {
        // Names first, over the whole FROM list, as set_rtable_names does
        // before anything is printed.
        for twj in &s.from {
            self.assign_names_twj(twj)?;
        }
        let mut first = true;
        let mut names_at = 0usize;
        for twj in &s.from {
            if first {
                self.keyword(" FROM ", -INDENT_STD, INDENT_STD, 2);
                first = false;
                let (text, cols) = self.twj(twj, &mut names_at)?;
                self.buf.push_str(&text);
                self.levels.last_mut().unwrap().top.push(cols);
            } else {
                self.buf.push_str(", ");
                let (text, cols) = self.twj(twj, &mut names_at)?;
                if text.starts_with('\n') {
                    let l = self.buf.trim_end_matches(' ').len();
                    self.buf.truncate(l);
                } else {
                    self.keyword("", -INDENT_STD, INDENT_STD, INDENT_VAR);
                }
                self.buf.push_str(&text);
                self.levels.last_mut().unwrap().top.push(cols);
            }
        }
        Ok(())
    }

    fn unique_name(&mut self, base: &str) -> String {
        let taken = |d: &Self, n: &str| d.levels.iter().any(|l| l.names.iter().any(|x| x == n));
        let mut name = base.to_string();
        let mut i = 1;
        while taken(self, &name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        self.levels.last_mut().unwrap().names.push(name.clone());
        name
    }

    fn assign_names_twj(&mut self, twj: &ast::TableWithJoins) -> R<()> {
        self.assign_names_factor(&twj.relation)?;
        for j in &twj.joins {
            self.assign_names_factor(&j.relation)?;
        }
        Ok(())
    }

    fn assign_names_factor(&mut self, f: &ast::TableFactor) -> R<()> {
        use ast::TableFactor as F;
        let base = match f {
            F::Table { name, alias, .. } => match alias {
                Some(a) => ident_name(&a.name),
                None => name_last(name)?,
            },
            F::Derived { alias, .. } => match alias {
                Some(a) => ident_name(&a.name),
                None => "unnamed_subquery".into(),
            },
            F::NestedJoin {
                table_with_joins,
                alias,
            } => {
                self.assign_names_twj(table_with_joins)?;
                match alias {
                    Some(a) => ident_name(&a.name),
                    None => return Ok(()),
                }
            }
            F::Function { name, alias, .. } => match alias {
                Some(a) => ident_name(&a.name),
                None => name_last(name)?,
            },
            _ => return Err(Unsupported),
        };
        self.unique_name(&base);
        Ok(())
    }

    /// The `names_at`th name assigned at this level.
    fn next_name(&mut self, names_at: &mut usize) -> String {
        let lvl = self.levels.last().unwrap();
        let n = lvl.names.get(*names_at).cloned().unwrap_or_default();
        *names_at += 1;
        n
    }

    fn twj(&mut self, twj: &ast::TableWithJoins, names_at: &mut usize) -> R<(String, Vec<Col>)> {
        let (mut text, mut cols) = self.factor(&twj.relation, names_at)?;
        for j in &twj.joins {
            let (t, c) = self.join(text, cols, j, names_at, None)?;
            text = t;
            cols = c;
        }
        Ok((text, cols))
    }

    /// One join of the left side printed so far with `j`'s relation.
    fn join(
        &mut self,
        left_text: String,
        left: Vec<Col>,
        j: &ast::Join,
        names_at: &mut usize,
        _alias: Option<&str>,
    ) -> R<(String, Vec<Col>)> {
        use ast::JoinOperator as J;
        let (kind, constraint) = match &j.join_operator {
            J::Join(c) | J::Inner(c) => ("JOIN", c),
            J::Left(c) | J::LeftOuter(c) => ("LEFT JOIN", c),
            J::Right(c) | J::RightOuter(c) => ("RIGHT JOIN", c),
            J::FullOuter(c) => ("FULL JOIN", c),
            J::CrossJoin(c) => ("CROSS JOIN", c),
            _ => return Err(Unsupported),
        };
        let right_paren = !matches!(j.relation, ast::TableFactor::NestedJoin { alias: None, .. });
        let (rtext, right) = self.factor(&j.relation, names_at)?;
        // An unnamed join on the right of a join is parenthesised (in
        // plain mode every join has its own parentheses already).
        let rtext = if !right_paren && self.pretty {
            format!("({rtext})")
        } else {
            rtext
        };
        let mut using: Vec<String> = match constraint {
            ast::JoinConstraint::Using(names) => {
                names.iter().map(name_last).collect::<R<Vec<_>>>()?
            }
            ast::JoinConstraint::Natural => {
                let rn: Vec<&str> = right.iter().map(|c| c.name.as_str()).collect();
                left.iter()
                    .filter(|c| rn.contains(&c.name.as_str()))
                    .map(|c| c.name.clone())
                    .collect()
            }
            _ => Vec::new(),
        };
        using.dedup();
        let kw = if kind == "JOIN" && matches!(constraint, ast::JoinConstraint::None) {
            "CROSS JOIN"
        } else {
            kind
        };
        // NATURAL shows as the USING list it stands for.
        let kw = kw.to_string();
        // The merged USING columns, then the rest of each side.
        let mut cols = Vec::new();
        for u in &using {
            let l = left.iter().find(|c| &c.name == u).ok_or(Unsupported)?;
            let r = right.iter().find(|c| &c.name == u).ok_or(Unsupported)?;
            // The merged column is one side's column where that side needs
            // no coercion to the common type (an inner join takes either,
            // the left first); otherwise, and always for FULL JOIN, it is
            // an expression printed by its bare name.
            let common = match (l.ty, r.ty) {
                (Some(a), Some(b)) => Some(common_type(a, b)),
                (a, b) => a.or(b),
            };
            let fits = |c: &Col| c.ty.is_some() && c.ty.map(|t| t.oid) == common.map(|t| t.oid);
            let text = match kind {
                "JOIN" | "CROSS JOIN" if fits(l) => l.text.clone(),
                "JOIN" | "CROSS JOIN" if fits(r) => r.text.clone(),
                "LEFT JOIN" if fits(l) => l.text.clone(),
                "RIGHT JOIN" if fits(r) => r.text.clone(),
                _ => quote(u),
            };
            let t = common;
            cols.push(Col {
                name: u.clone(),
                text,
                ty: t,
            });
        }
        cols.extend(left.iter().filter(|c| !using.contains(&c.name)).cloned());
        cols.extend(right.iter().filter(|c| !using.contains(&c.name)).cloned());
        // The condition sees both sides.
        let mut out = String::new();
        let saved = std::mem::take(&mut self.buf);
        self.buf = if self.pretty {
            left_text
        } else {
            format!("({left_text}")
        };
        self.keyword(&format!(" {kw} "), -INDENT_STD, INDENT_STD, INDENT_JOIN);
        self.buf.push_str(&rtext);
        {
            match constraint {
                ast::JoinConstraint::Using(_) | ast::JoinConstraint::Natural => {
                    self.buf.push_str(" USING (");
                    self.buf.push_str(
                        &using
                            .iter()
                            .map(|u| quote(u))
                            .collect::<Vec<_>>()
                            .join(", "),
                    );
                    self.buf.push(')');
                }
                ast::JoinConstraint::On(e) => {
                    // ON sees the columns of both sides through a scratch
                    // top-level item.
                    let lvl = self.levels.last_mut().unwrap();
                    lvl.top.push(cols.clone());
                    let r = self.expr(e, Parent::Top, ty(types::BOOL));
                    self.levels.last_mut().unwrap().top.pop();
                    let t = r?;
                    self.buf.push_str(" ON ");
                    // Plain mode wraps the condition once more.
                    if self.pretty {
                        self.buf.push_str(&t);
                    } else {
                        self.buf.push_str(&format!("({t})"));
                    }
                }
                _ => {}
            }
        }
        if !self.pretty {
            self.buf.push(')');
        }
        std::mem::swap(&mut out, &mut self.buf);
        self.buf = saved;
        Ok((out, cols))
    }

    fn factor(&mut self, f: &ast::TableFactor, names_at: &mut usize) -> R<(String, Vec<Col>)> {
        use ast::TableFactor as F;
        match f {
            F::Table {
                name,
                alias,
                args: None,
                with_hints,
                version: None,
                with_ordinality: false,
                partitions,
                json_path: None,
                sample: None,
                index_hints,
            } if with_hints.is_empty() && partitions.is_empty() && index_hints.is_empty() => {
                let refname = self.next_name(names_at);
                let parts: Vec<String> = name
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident().map(ident_name))
                    .collect();
                let (schema, rel) = match parts.as_slice() {
                    [t] => (None, t.clone()),
                    [s, t] => (Some(s.clone()), t.clone()),
                    _ => return Err(Unsupported),
                };
                // A WITH query of this or an enclosing level.
                let cte = if schema.is_none() {
                    self.levels
                        .iter()
                        .rev()
                        .find_map(|l| l.ctes.iter().find(|c| c.0 == rel).map(|c| c.1.clone()))
                } else {
                    None
                };
                let (real, shown): (Vec<(String, Option<Ty>)>, String) = match cte {
                    Some(cols) => (cols, quote(&rel)),
                    None => {
                        let r = catalog::lookup(&*self.host, schema.as_deref(), &rel)
                            .map_err(|_| Unsupported)?;
                        let shown = self.relation_name(&r);
                        (
                            r.columns
                                .iter()
                                .map(|c| (c.name.clone(), Some(c.ty)))
                                .collect(),
                            shown,
                        )
                    }
                };
                let mut text = shown;
                let alias_cols: Vec<String> = alias
                    .as_ref()
                    .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
                    .unwrap_or_default();
                let names: Vec<String> = real
                    .iter()
                    .enumerate()
                    .map(|(i, c)| alias_cols.get(i).cloned().unwrap_or_else(|| c.0.clone()))
                    .collect();
                let changed = names.iter().zip(&real).any(|(n, r)| *n != r.0);
                if alias.is_some() || refname != rel {
                    text.push(' ');
                    text.push_str(&quote(&refname));
                }
                if changed {
                    // A relation's alias list shows only when it renames.
                    if alias.is_none() {
                        text.push(' ');
                        text.push_str(&quote(&refname));
                    }
                    text.push_str(&column_list(&names));
                }
                let cols: Vec<Col> = qualified(&refname, &names, real.iter().map(|r| r.1));
                let written = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or(rel);
                self.levels.last_mut().unwrap().entries.push(Entry {
                    written,
                    cols: cols.clone(),
                });
                Ok((text, cols))
            }
            F::Derived {
                lateral,
                subquery,
                alias,
                sample: None,
            } => {
                let refname = self.next_name(names_at);
                let out = if *lateral {
                    self.output_cols(subquery)?
                } else {
                    // A plain subquery does not see this level's names.
                    let lvl = self.levels.pop().unwrap();
                    let r = self.output_cols(subquery);
                    self.levels.push(lvl);
                    r?
                };
                let ind = self.indent;
                let sub = self.capture(|d| {
                    if !*lateral {
                        // Non-lateral subqueries may not see this level's
                        // FROM items; names still must be unique.
                        let lvl = d.levels.last().unwrap().clone();
                        let hidden = Level {
                            names: lvl.names.clone(),
                            ..Level::default()
                        };
                        let l = d.levels.pop().unwrap();
                        d.levels.push(hidden);
                        let r = d.query(subquery, None, true, ind);
                        d.levels.pop();
                        d.levels.push(l);
                        r
                    } else {
                        d.query(subquery, None, true, ind)
                    }
                })?;
                let mut text = String::new();
                if *lateral {
                    text.push_str("LATERAL ");
                }
                text.push('(');
                text.push_str(&sub);
                text.push(')');
                let alias_cols: Vec<String> = alias
                    .as_ref()
                    .map(|a| a.columns.iter().map(|c| ident_name(&c.name)).collect())
                    .unwrap_or_default();
                let names: Vec<String> = out
                    .iter()
                    .enumerate()
                    .map(|(i, c)| alias_cols.get(i).cloned().unwrap_or_else(|| c.0.clone()))
                    .collect();
                text.push(' ');
                text.push_str(&quote(&refname));
                if !alias_cols.is_empty() {
                    text.push_str(&column_list(&names));
                }
                let cols: Vec<Col> = qualified(&refname, &names, out.iter().map(|r| r.1));
                let written = alias
                    .as_ref()
                    .map(|a| ident_name(&a.name))
                    .unwrap_or_default();
                self.levels.last_mut().unwrap().entries.push(Entry {
                    written,
                    cols: cols.clone(),
                });
                Ok((text, cols))
            }
            F::NestedJoin {
                table_with_joins,
                alias,
            } => {
                let entries_before = self.levels.last().unwrap().entries.len();
                let (inner, cols) = self.twj(table_with_joins, names_at)?;
                match alias {
                    None => Ok((inner, cols)),
                    Some(a) => {
                        let refname = self.next_name(names_at);
                        // The alias hides the inner names.
                        self.levels
                            .last_mut()
                            .unwrap()
                            .entries
                            .truncate(entries_before);
                        let alias_cols: Vec<String> =
                            a.columns.iter().map(|c| ident_name(&c.name)).collect();
                        let names: Vec<String> = cols
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                alias_cols.get(i).cloned().unwrap_or_else(|| c.name.clone())
                            })
                            .collect();
                        let inner = if self.pretty {
                            format!("({inner})")
                        } else {
                            inner
                        };
                        let mut text = format!("{inner} {}", quote(&refname));
                        if !alias_cols.is_empty() {
                            text.push_str(&column_list(&names));
                        }
                        let cols: Vec<Col> = qualified(&refname, &names, cols.iter().map(|c| c.ty));
                        self.levels.last_mut().unwrap().entries.push(Entry {
                            written: ident_name(&a.name),
                            cols: cols.clone(),
                        });
                        Ok((text, cols))
                    }
                }
            }
            _ => Err(Unsupported),
        }
    }

    /// A relation's name, schema-qualified when the search path would not
    /// find it by its bare name.
    fn relation_name(&self, r: &Relation) -> String {
        let visible = catalog::lookup(&*self.host, None, &r.name)
            .map(|f| f.schema == r.schema)
            .unwrap_or(false);
        if visible {
            quote(&r.name)
        } else {
            format!("{}.{}", quote(&r.schema), quote(&r.name))
        }
    }

    // ---- names ----

    /// The column `parts` names: its printed text, from the innermost
    /// level outwards.
    fn lookup(&self, parts: &[String]) -> Option<(Col, usize)> {
        for (depth, lvl) in self.levels.iter().rev().enumerate() {
            match parts {
                [c] => {
                    for item in &lvl.top {
                        if let Some(col) = item.iter().find(|x| &x.name == c) {
                            return Some((col.clone(), depth));
                        }
                    }
                }
                [.., t, c] => {
                    if let Some(e) = lvl.entries.iter().rev().find(|e| &e.written == t) {
                        if let Some(col) = e.cols.iter().find(|x| &x.name == c) {
                            return Some((col.clone(), depth));
                        }
                        return None;
                    }
                }
                [] => return None,
            }
        }
        None
    }

    fn entry_cols(&self, t: &str) -> Option<Vec<Col>> {
        for lvl in self.levels.iter().rev() {
            if let Some(e) = lvl.entries.iter().rev().find(|e| e.written == t) {
                return Some(e.cols.clone());
            }
        }
        None
    }

    // ---- expressions ----

    fn expr(&mut self, e: &ast::Expr, parent: Parent, hint: Option<Ty>) -> R<String> {
        self.expr_typed(e, parent, hint).map(|r| r.0)
    }

    /// The type `e` resolves to, as far as this deparser knows.
    fn expr_ty(&mut self, e: &ast::Expr) -> Option<Ty> {
        let saved = std::mem::take(&mut self.buf);
        let ind = self.indent;
        let r = self.expr_typed(e, Parent::Top, None).ok().and_then(|r| r.1);
        self.buf = saved;
        self.indent = ind;
        r
    }

    /// `e` printed inside `parent`, with parentheses when its kind needs
    /// them there; `hint` is the type an untyped literal takes.
    fn expr_typed(
        &mut self,
        e: &ast::Expr,
        parent: Parent,
        hint: Option<Ty>,
    ) -> R<(String, Option<Ty>)> {
        let (text, t, kind) = self.node(e, hint)?;
        let wrap = match kind {
            Kind::Simple => false,
            _ if !self.pretty => false,
            _ => parent != Parent::Top && !is_simple(kind, parent),
        };
        Ok((if wrap { format!("({text})") } else { text }, t))
    }

    /// One node: its text (its own parentheses in non-pretty mode), type
    /// and kind.
    fn node(&mut self, e: &ast::Expr, hint: Option<Ty>) -> R<(String, Option<Ty>, Kind)> {
        use ast::Expr as E;
        let own = |s: &Self, t: String| if s.pretty { t } else { format!("({t})") };
        Ok(match e {
            E::Nested(inner) => return self.node(inner, hint),
            E::Identifier(_) | E::CompoundIdentifier(_) => {
                let parts = match e {
                    E::Identifier(i) => vec![ident_name(i)],
                    E::CompoundIdentifier(ids) => ids.iter().map(ident_name).collect(),
                    _ => unreachable!(),
                };
                if parts.len() > 2 {
                    return Err(Unsupported);
                }
                match self.lookup(&parts) {
                    Some((c, _)) => (c.text, c.ty, Kind::Simple),
                    None => {
                        // A bare name that is no column: a whole-row
                        // reference or a parameterless SQL function.
                        return Err(Unsupported);
                    }
                }
            }
            E::Value(v) => {
                let (t, ty) = self.constant(&v.value, hint, false)?;
                (t, ty, Kind::Simple)
            }
            E::TypedString(ts) => {
                let t = crate::bind::data_type_to_ty(&ts.data_type).map_err(|_| Unsupported)?;
                let s = match &ts.value.value {
                    ast::Value::SingleQuotedString(s) => s.clone(),
                    _ => return Err(Unsupported),
                };
                (self.const_text(&s, t, true), Some(t), Kind::Simple)
            }
            E::UnaryOp { op, expr } => match op {
                ast::UnaryOperator::Not => {
                    let (a, _) = self.expr_typed(expr, Parent::Bool(Kind::Not), ty(types::BOOL))?;
                    (own(self, format!("NOT {a}")), ty(types::BOOL), Kind::Not)
                }
                ast::UnaryOperator::Minus => {
                    if let E::Value(v) = &**expr {
                        if let ast::Value::Number(n, _) = &v.value {
                            let (t, ty) = self.number(&format!("-{n}"))?;
                            return Ok((t, ty, Kind::Simple));
                        }
                    }
                    let (a, t) = self.expr_typed(expr, Parent::Op("-", false), hint)?;
                    (own(self, format!("- {a}")), t, Kind::Op("-"))
                }
                ast::UnaryOperator::Plus => {
                    let (a, t) = self.expr_typed(expr, Parent::Op("+", false), hint)?;
                    (own(self, format!("+ {a}")), t, Kind::Op("+"))
                }
                _ => return Err(Unsupported),
            },
            E::BinaryOp { left, op, right } => {
                use ast::BinaryOperator as B;
                match op {
                    B::And | B::Or => {
                        let (k, word) = if matches!(op, B::And) {
                            (Kind::And, " AND ")
                        } else {
                            (Kind::Or, " OR ")
                        };
                        // Flatten a chain of the same operator, as the
                        // parser builds one BoolExpr of all its arms.
                        let mut arms = Vec::new();
                        flatten(e, op, &mut arms);
                        let mut parts = Vec::new();
                        for a in arms {
                            parts.push(self.expr_typed(a, Parent::Bool(k), ty(types::BOOL))?.0);
                        }
                        (own(self, parts.join(word)), ty(types::BOOL), k)
                    }
                    _ => {
                        let name: &'static str = match op {
                            B::Plus => "+",
                            B::Minus => "-",
                            B::Multiply => "*",
                            B::Divide => "/",
                            B::Modulo => "%",
                            B::Eq => "=",
                            B::NotEq => "<>",
                            B::Lt => "<",
                            B::LtEq => "<=",
                            B::Gt => ">",
                            B::GtEq => ">=",
                            B::StringConcat => "||",
                            B::PGExp => "^",
                            B::PGRegexMatch => "~",
                            B::PGRegexIMatch => "~*",
                            B::PGRegexNotMatch => "!~",
                            B::PGRegexNotIMatch => "!~*",
                            B::PGBitwiseShiftLeft => "<<",
                            B::PGBitwiseShiftRight => ">>",
                            B::BitwiseAnd => "&",
                            B::BitwiseOr => "|",
                            B::PGBitwiseXor => "#",
                            B::AtArrow => "@>",
                            B::ArrowAt => "<@",
                            _ => return Err(Unsupported),
                        };
                        let (l, r, t) = self.binary(left, right, name)?;
                        (own(self, format!("{l} {name} {r}")), t, Kind::Op(name))
                    }
                }
            }
            E::IsNull(x) | E::IsNotNull(x) => {
                let (a, _) = self.expr_typed(x, Parent::Op("IS", false), None)?;
                let w = if matches!(e, E::IsNull(_)) {
                    "IS NULL"
                } else {
                    "IS NOT NULL"
                };
                (own(self, format!("{a} {w}")), ty(types::BOOL), Kind::Other)
            }
            E::IsTrue(x)
            | E::IsNotTrue(x)
            | E::IsFalse(x)
            | E::IsNotFalse(x)
            | E::IsUnknown(x)
            | E::IsNotUnknown(x) => {
                let (a, _) = self.expr_typed(x, Parent::Op("IS", false), ty(types::BOOL))?;
                let w = match e {
                    E::IsTrue(_) => "IS TRUE",
                    E::IsNotTrue(_) => "IS NOT TRUE",
                    E::IsFalse(_) => "IS FALSE",
                    E::IsNotFalse(_) => "IS NOT FALSE",
                    E::IsUnknown(_) => "IS UNKNOWN",
                    _ => "IS NOT UNKNOWN",
                };
                (own(self, format!("{a} {w}")), ty(types::BOOL), Kind::Other)
            }
            E::IsDistinctFrom(a, b) | E::IsNotDistinctFrom(a, b) => {
                let (l, r, _) = self.binary_with(a, b, Parent::Op("IS", false))?;
                let w = if matches!(e, E::IsDistinctFrom(..)) {
                    "IS DISTINCT FROM"
                } else {
                    "IS NOT DISTINCT FROM"
                };
                if matches!(e, E::IsNotDistinctFrom(..)) {
                    // PostgreSQL keeps NOT (a IS DISTINCT FROM b).
                    let inner = format!("{l} IS DISTINCT FROM {r}");
                    let inner = format!("({inner})");
                    (
                        own(self, format!("NOT {inner}")),
                        ty(types::BOOL),
                        Kind::Not,
                    )
                } else {
                    (
                        own(self, format!("{l} {w} {r}")),
                        ty(types::BOOL),
                        Kind::Other,
                    )
                }
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => {
                // The parser expands BETWEEN into two comparisons.
                let (a1, l, _) = self.binary(expr, low, ">=")?;
                let (a2, h, _) = self.binary(expr, high, "<=")?;
                let (c1, c2) = if *negated {
                    (format!("{a1} < {l}"), format!("{a2} > {h}"))
                } else {
                    (format!("{a1} >= {l}"), format!("{a2} <= {h}"))
                };
                let (c1, c2) = (own(self, c1), own(self, c2));
                let w = if *negated { " OR " } else { " AND " };
                let k = if *negated { Kind::Or } else { Kind::And };
                (own(self, format!("{c1}{w}{c2}")), ty(types::BOOL), k)
            }
            E::Like {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            }
            | E::ILike {
                negated,
                any: false,
                expr,
                pattern,
                escape_char: None,
            } => {
                let op: &'static str = match (matches!(e, E::ILike { .. }), negated) {
                    (false, false) => "~~",
                    (false, true) => "!~~",
                    (true, false) => "~~*",
                    (true, true) => "!~~*",
                };
                let (l, r, _) = self.binary(expr, pattern, op)?;
                (
                    own(self, format!("{l} {op} {r}")),
                    ty(types::BOOL),
                    Kind::Op(op),
                )
            }
            E::InList {
                expr,
                list,
                negated,
            } => {
                let (l, lt) = self.expr_typed(expr, Parent::Op("=", true), None)?;
                let mut items = Vec::new();
                let mut et = lt;
                for x in list {
                    let (s, t) = self.expr_typed(x, Parent::Func, lt)?;
                    if et.is_none() {
                        et = t;
                    }
                    items.push(s);
                }
                let (op, quant) = if *negated {
                    ("<>", "ALL")
                } else {
                    ("=", "ANY")
                };
                let text = format!("{l} {op} {quant} (ARRAY[{}])", items.join(", "));
                (own(self, text), ty(types::BOOL), Kind::Complex)
            }
            E::Cast {
                kind: ast::CastKind::Cast | ast::CastKind::DoubleColon,
                expr,
                data_type,
                format: None,
            } => {
                let t = crate::bind::data_type_to_ty(data_type).map_err(|_| Unsupported)?;
                // A view's unknown-typed output becomes text.
                let t = if t.oid == types::UNKNOWN {
                    Ty::new(types::TEXT)
                } else {
                    t
                };
                // A string literal cast is a constant of the type.
                if let E::Value(v) = strip(expr) {
                    if let ast::Value::SingleQuotedString(s) = &v.value {
                        return Ok((self.const_text(s, t, true), Some(t), Kind::Simple));
                    }
                    if let ast::Value::Null = &v.value {
                        let tn = self.format_type(t);
                        return Ok((format!("NULL::{tn}"), Some(t), Kind::Simple));
                    }
                }
                let (a, _) = self.expr_typed(expr, Parent::Cast, Some(t))?;
                let tn = self.format_type(t);
                let a = if self.pretty { a } else { format!("({a})") };
                (format!("{a}::{tn}"), Some(t), Kind::Simple)
            }
            E::Function(f) => self.function(f, hint)?,
            E::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let text =
                    self.case(operand.as_deref(), conditions, else_result.as_deref(), hint)?;
                let t = conditions
                    .first()
                    .and_then(|c| self.expr_ty(&c.result))
                    .or(hint);
                (text, t, Kind::Simple)
            }
            E::Exists { subquery, negated } => {
                let ind = self.indent;
                let q = self.capture(|d| d.query(subquery, None, false, ind))?;
                let text = format!("(EXISTS ({q}))");
                if *negated {
                    (own(self, format!("NOT {text}")), ty(types::BOOL), Kind::Not)
                } else {
                    (text, ty(types::BOOL), Kind::Other)
                }
            }
            E::Subquery(q) => {
                let ind = self.indent;
                let out = self.output_cols(q)?;
                let s = self.capture(|d| d.query(q, None, false, ind))?;
                (
                    format!("({s})"),
                    out.first().and_then(|c| c.1),
                    Kind::Simple,
                )
            }
            E::InSubquery {
                expr,
                subquery,
                negated,
            } => {
                let (l, _) = self.expr_typed(expr, Parent::Op("=", true), None)?;
                let ind = self.indent;
                let s = self.capture(|d| d.query(subquery, None, false, ind))?;
                let text = format!("({l} IN ({s}))");
                if *negated {
                    (own(self, format!("NOT {text}")), ty(types::BOOL), Kind::Not)
                } else {
                    (text, ty(types::BOOL), Kind::Other)
                }
            }
            E::Array(a) => {
                let mut items = Vec::new();
                let mut et = None;
                for x in &a.elem {
                    let et0 = self.expr_ty(x);
                    if et.is_none() {
                        et = et0;
                    }
                }
                let et = et.or_else(|| {
                    hint.and_then(|h| types::array::elem_type(h.oid))
                        .map(Ty::new)
                });
                for x in &a.elem {
                    items.push(self.expr_typed(x, Parent::Func, et.or(ty(types::TEXT)))?.0);
                }
                let at = et
                    .and_then(|t| types::array::array_type(t.oid))
                    .map(Ty::new);
                (format!("ARRAY[{}]", items.join(", ")), at, Kind::Simple)
            }
            E::Tuple(items) => {
                let mut parts = Vec::new();
                for x in items {
                    parts.push(self.expr_typed(x, Parent::Func, None)?.0);
                }
                (format!("ROW({})", parts.join(", ")), None, Kind::Simple)
            }
            E::Collate { expr, collation } => {
                let (a, t) = self.expr_typed(expr, Parent::Op("COLLATE", false), hint)?;
                let c = collation
                    .0
                    .iter()
                    .filter_map(|p| p.as_ident())
                    .map(|i| quote_always(&i.value))
                    .collect::<Vec<_>>()
                    .join(".");
                (own(self, format!("{a} COLLATE {c}")), t, Kind::Complex)
            }
            _ => return Err(Unsupported),
        })
    }

    /// The two operands of a binary operator, each printed with the other's
    /// type as an untyped literal's, and the result type.
    fn binary(
        &mut self,
        left: &ast::Expr,
        right: &ast::Expr,
        op: &'static str,
    ) -> R<(String, String, Option<Ty>)> {
        let lt = if is_untyped(left) {
            None
        } else {
            self.expr_ty(left)
        };
        let rt = if is_untyped(right) {
            None
        } else {
            self.expr_ty(right)
        };
        let textual = matches!(
            op,
            "~~" | "!~~" | "~~*" | "!~~*" | "~" | "~*" | "!~" | "!~*" | "||"
        );
        // Operands of types without operators of their own (varchar) meet
        // as text.
        let arg_ty = |t: Option<Ty>| -> Option<Ty> {
            match t.map(|t| t.oid) {
                Some(types::VARCHAR) => ty(types::TEXT),
                Some(types::BPCHAR) if textual => ty(types::TEXT),
                _ => t.map(|t| Ty::new(t.oid)),
            }
        };
        let (lh, rh) = (arg_ty(rt).or(arg_ty(lt)), arg_ty(lt).or(arg_ty(rt)));
        // An implicit coercion of an operand shows as a cast.
        let la = arg_ty(lt);
        let ra = arg_ty(rt);
        // An untyped literal meets the other side as that side's type.
        let (la, ra) = (la.or(ra), ra.or(la));
        let cl = match (lt, ra) {
            (Some(a), Some(b)) => self.implicit(a, b, textual),
            _ => None,
        };
        let cr = match (rt, la) {
            (Some(a), Some(b)) => self.implicit(a, b, textual),
            _ => None,
        };
        let l = self.operand(left, Parent::Op(op, true), lh, cl)?;
        let r = self.operand(right, Parent::Op(op, false), rh, cr)?;
        let result = match op {
            "=" | "<>" | "<" | "<=" | ">" | ">=" | "~~" | "!~~" | "~~*" | "!~~*" | "~" | "~*"
            | "!~" | "!~*" | "@>" | "<@" => ty(types::BOOL),
            "||" => ty(types::TEXT),
            _ => match (la, ra) {
                (Some(a), Some(b)) => Some(common_type(a, b)),
                (a, b) => a.or(b),
            },
        };
        Ok((l, r, result))
    }

    fn binary_with(
        &mut self,
        left: &ast::Expr,
        right: &ast::Expr,
        _p: Parent,
    ) -> R<(String, String, Option<Ty>)> {
        self.binary(left, right, "=")
    }

    /// The type an operand of type `from` is coerced to when it meets
    /// one of type `other`, if the coercion shows.
    fn implicit(&self, from: Ty, other: Ty, textual: bool) -> Option<Ty> {
        let rank = |o: u32| match o {
            types::INT2 => Some(1),
            types::INT4 => Some(2),
            types::INT8 => Some(3),
            types::NUMERIC => Some(4),
            types::FLOAT4 => Some(5),
            types::FLOAT8 => Some(6),
            _ => None,
        };
        match (from.oid, other.oid) {
            (types::VARCHAR, _) => Some(Ty::new(types::TEXT)),
            (types::BPCHAR, _) if textual => Some(Ty::new(types::TEXT)),
            (a, b) => {
                let (ra, rb) = (rank(a)?, rank(b)?);
                // Integers of any width compare and compute with each
                // other, as do float4 and float8.
                let same_family = (ra <= 3 && rb <= 3) || (ra >= 5 && rb >= 5);
                if ra < rb && !same_family {
                    Some(Ty::new(b))
                } else {
                    None
                }
            }
        }
    }

    /// An operand printed inside `parent`, or, coerced to `to`, as a cast.
    fn operand(
        &mut self,
        e: &ast::Expr,
        parent: Parent,
        hint: Option<Ty>,
        to: Option<Ty>,
    ) -> R<String> {
        let hint = hint.or(ty(types::TEXT));
        match to {
            None => Ok(self.expr_typed(e, parent, hint)?.0),
            Some(t) => {
                let (a, _) = self.expr_typed(e, Parent::Cast, hint)?;
                let tn = self.format_type(t);
                Ok(if self.pretty {
                    format!("{a}::{tn}")
                } else {
                    format!("({a})::{tn}")
                })
            }
        }
    }

    fn case(
        &mut self,
        operand: Option<&ast::Expr>,
        conds: &[ast::CaseWhen],
        else_result: Option<&ast::Expr>,
        hint: Option<Ty>,
    ) -> R<String> {
        let saved = std::mem::take(&mut self.buf);
        let r = (|| -> R<()> {
            let rt = conds
                .iter()
                .map(|c| &c.result)
                .chain(else_result)
                .filter(|e| !is_untyped(e))
                .find_map(|e| self.expr_ty(e))
                .or(hint)
                .or(ty(types::TEXT));
            self.keyword("CASE", 0, INDENT_VAR, 0);
            let ot = match operand {
                Some(o) => {
                    let (s, t) = self.expr_typed(o, Parent::Func, None)?;
                    self.buf.push(' ');
                    self.buf.push_str(&s);
                    t
                }
                None => None,
            };
            for c in conds {
                self.keyword("WHEN ", 0, 0, 0);
                let w = self.expr(
                    &c.condition,
                    Parent::Top,
                    if operand.is_some() {
                        ot
                    } else {
                        ty(types::BOOL)
                    },
                )?;
                self.buf.push_str(&w);
                self.buf.push_str(" THEN ");
                let t = self.expr(&c.result, Parent::Func, rt)?;
                self.buf.push_str(&t);
            }
            self.keyword("ELSE ", 0, 0, 0);
            match else_result {
                Some(e) => {
                    let t = self.expr(e, Parent::Func, rt)?;
                    self.buf.push_str(&t);
                }
                None => {
                    let tn = rt
                        .map(|t| self.format_type(t))
                        .unwrap_or_else(|| "text".into());
                    self.buf.push_str(&format!("NULL::{tn}"));
                }
            }
            self.keyword("END", -INDENT_VAR, 0, 0);
            Ok(())
        })();
        let out = std::mem::replace(&mut self.buf, saved);
        r.map(|_| out)
    }

    fn window_spec(&mut self, spec: &ast::WindowSpec) -> R<String> {
        let mut parts = Vec::new();
        if let Some(n) = &spec.window_name {
            parts.push(quote(&ident_name(n)));
        }
        if !spec.partition_by.is_empty() {
            let mut ps = Vec::new();
            for e in &spec.partition_by {
                ps.push(self.sort_group_expr(e, false)?);
            }
            parts.push(format!("PARTITION BY {}", ps.join(", ")));
        }
        if !spec.order_by.is_empty() {
            let mut ps = Vec::new();
            for o in &spec.order_by {
                let mut t = self.sort_group_expr(&o.expr, false)?;
                let desc = matches!(o.options.sort, Some(ast::OrderBySort::Desc));
                if desc {
                    t.push_str(" DESC");
                }
                match o.options.nulls_first {
                    Some(true) if !desc => t.push_str(" NULLS FIRST"),
                    Some(false) if desc => t.push_str(" NULLS LAST"),
                    _ => {}
                }
                ps.push(t);
            }
            parts.push(format!("ORDER BY {}", ps.join(", ")));
        }
        if spec.window_frame.is_some() {
            return Err(Unsupported);
        }
        Ok(parts.join(" "))
    }

    fn function(&mut self, f: &ast::Function, hint: Option<Ty>) -> R<(String, Option<Ty>, Kind)> {
        if f.uses_odbc_syntax
            || !matches!(f.parameters, ast::FunctionArguments::None)
            || !f.within_group.is_empty()
        {
            return Err(Unsupported);
        }
        let parts: Vec<String> = f
            .name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(ident_name))
            .collect();
        let [name] = parts.as_slice() else {
            return Err(Unsupported);
        };
        let name = name.as_str();
        let list = match &f.args {
            ast::FunctionArguments::List(l) => l,
            ast::FunctionArguments::None => {
                let up = name.to_ascii_uppercase();
                return match name {
                    "current_date" => Ok((up, ty(types::DATE), Kind::Simple)),
                    "current_timestamp" => Ok((up, ty(types::TIMESTAMPTZ), Kind::Simple)),
                    "localtimestamp" => Ok((up, ty(types::TIMESTAMP), Kind::Simple)),
                    "current_user" | "session_user" | "current_role" | "user"
                    | "current_catalog" | "current_schema" => {
                        Ok((up, ty(types::NAME), Kind::Simple))
                    }
                    _ => Err(Unsupported),
                };
            }
            _ => return Err(Unsupported),
        };
        let mut args = Vec::new();
        let mut first_ty = None;
        let star = matches!(
            list.args.as_slice(),
            [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard)]
        );
        if !star {
            for a in &list.args {
                let ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(x)) = a else {
                    return Err(Unsupported);
                };
                let (s, t) =
                    self.expr_typed(x, Parent::Func, first_ty.or(hint).or(ty(types::TEXT)))?;
                if first_ty.is_none() && !is_untyped(x) {
                    first_ty = t;
                }
                args.push(s);
            }
        }
        let mut text = String::from(name);
        text.push('(');
        match list.duplicate_treatment {
            Some(ast::DuplicateTreatment::Distinct) => text.push_str("DISTINCT "),
            Some(ast::DuplicateTreatment::All) | None => {}
        }
        if star {
            text.push('*');
        } else {
            text.push_str(&args.join(", "));
        }
        for c in &list.clauses {
            match c {
                ast::FunctionArgumentClause::OrderBy(obs) => {
                    let mut ps = Vec::new();
                    for o in obs {
                        let mut t = self.expr(&o.expr, Parent::Top, None)?;
                        if matches!(o.options.sort, Some(ast::OrderBySort::Desc)) {
                            t.push_str(" DESC");
                        }
                        ps.push(t);
                    }
                    text.push_str(" ORDER BY ");
                    text.push_str(&ps.join(", "));
                }
                _ => return Err(Unsupported),
            }
        }
        text.push(')');
        if let Some(fl) = &f.filter {
            let w = self.expr(fl, Parent::Top, ty(types::BOOL))?;
            text.push_str(&format!(" FILTER (WHERE {w})"));
        }
        if f.null_treatment.is_some() {
            return Err(Unsupported);
        }
        if let Some(over) = &f.over {
            match over {
                ast::WindowType::NamedWindow(n) => {
                    text.push_str(&format!(" OVER {}", quote(&ident_name(n))))
                }
                ast::WindowType::WindowSpec(spec) => {
                    let s = self.window_spec(spec)?;
                    text.push_str(&format!(" OVER ({s})"));
                }
            }
        }
        let rt = match name {
            "count" | "row_number" | "rank" | "dense_rank" | "ntile" => ty(types::INT8),
            "sum" => first_ty.map(|t| match t.oid {
                types::INT2 | types::INT4 => Ty::new(types::INT8),
                types::INT8 => Ty::new(types::NUMERIC),
                o => Ty::new(o),
            }),
            "avg" => first_ty.map(|t| match t.oid {
                types::FLOAT4 | types::FLOAT8 => Ty::new(types::FLOAT8),
                _ => Ty::new(types::NUMERIC),
            }),
            "min" | "max" | "coalesce" | "greatest" | "least" | "nullif" | "abs" => first_ty,
            "length" | "char_length" | "strpos" => ty(types::INT4),
            "lower" | "upper" | "substr" | "btrim" | "concat" | "replace" | "md5" => {
                ty(types::TEXT)
            }
            "now" => ty(types::TIMESTAMPTZ),
            _ => None,
        };
        // COALESCE and friends are SQL syntax, not functions.
        let text = match name {
            "coalesce" | "greatest" | "least" | "nullif" => {
                let up = name.to_ascii_uppercase();
                format!("{up}{}", &text[name.len()..])
            }
            _ => text,
        };
        Ok((text, rt, Kind::Simple))
    }

    /// A literal: untyped strings take `hint` (text without one).
    fn constant(
        &mut self,
        v: &ast::Value,
        hint: Option<Ty>,
        _explicit: bool,
    ) -> R<(String, Option<Ty>)> {
        match v {
            ast::Value::Number(n, _) => self.number(n),
            ast::Value::SingleQuotedString(s) => {
                let t = hint.unwrap_or(Ty::new(types::TEXT));
                Ok((self.const_text(s, t, false), Some(t)))
            }
            ast::Value::Boolean(b) => Ok((b.to_string(), ty(types::BOOL))),
            ast::Value::Null => {
                let t = hint.unwrap_or(Ty::new(types::TEXT));
                let tn = self.format_type(t);
                Ok((format!("NULL::{tn}"), Some(t)))
            }
            _ => Err(Unsupported),
        }
    }

    fn number(&mut self, n: &str) -> R<(String, Option<Ty>)> {
        if let Ok(i) = n.parse::<i64>() {
            if let Ok(i) = i32::try_from(i) {
                return Ok(if i < 0 {
                    (format!("'{i}'::integer"), ty(types::INT4))
                } else {
                    (i.to_string(), ty(types::INT4))
                });
            }
            return Ok((format!("'{i}'::bigint"), ty(types::INT8)));
        }
        let v = crate::numeric::Numeric::parse(n).map_err(|_| Unsupported)?;
        let s = v.to_string();
        let floaty = s.starts_with(|c: char| c.is_ascii_digit()) && s.contains(['.', 'e', 'E']);
        Ok(if floaty {
            (s, ty(types::NUMERIC))
        } else {
            (format!("'{s}'::numeric"), ty(types::NUMERIC))
        })
    }

    /// A constant of type `t` from its text, as get_const_expr prints it.
    fn const_text(&mut self, s: &str, t: Ty, _explicit: bool) -> String {
        match t.oid {
            types::INT4 => {
                if let Ok(i) = s.trim().parse::<i32>() {
                    return if i < 0 {
                        format!("'{i}'::integer")
                    } else {
                        i.to_string()
                    };
                }
            }
            types::NUMERIC if t.typmod < 0 => {
                if let Ok(v) = crate::numeric::Numeric::parse(s.trim()) {
                    let out = v.to_string();
                    if out.starts_with(|c: char| c.is_ascii_digit())
                        && out.contains(['.', 'e', 'E'])
                    {
                        return out;
                    }
                    return format!("'{out}'::numeric");
                }
            }
            types::BOOL => match s.trim().to_ascii_lowercase().as_str() {
                "t" | "true" | "yes" | "y" | "on" | "1" => return "true".into(),
                "f" | "false" | "no" | "n" | "off" | "0" => return "false".into(),
                _ => {}
            },
            types::UNKNOWN => return quote_literal(s),
            _ => {}
        }
        let tn = self.format_type(t);
        format!("{}::{tn}", quote_literal(s))
    }
}

struct Target {
    text: String,
    /// The output column's name (alias, or as the parser names it).
    name: String,
    /// Some: the expression is a plain column reference of this name.
    var: Option<String>,
    ty: Option<Ty>,
}

impl Target {
    fn of(c: &Col) -> Target {
        Target {
            text: c.text.clone(),
            name: c.name.clone(),
            var: Some(c.name.clone()),
            ty: c.ty,
        }
    }
}

fn opts_used(o: &ast::WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_some()
        || o.opt_exclude.is_some()
        || o.opt_except.is_some()
        || o.opt_replace.is_some()
        || o.opt_rename.is_some()
}

fn name_last(n: &ast::ObjectName) -> R<String> {
    n.0.last()
        .and_then(|p| p.as_ident())
        .map(ident_name)
        .ok_or(Unsupported)
}

fn strip(e: &ast::Expr) -> &ast::Expr {
    match e {
        ast::Expr::Nested(i) => strip(i),
        _ => e,
    }
}

/// A literal whose type comes from its context.
fn is_untyped(e: &ast::Expr) -> bool {
    matches!(strip(e), ast::Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_) | ast::Value::Null))
}

fn flatten<'a>(e: &'a ast::Expr, op: &ast::BinaryOperator, out: &mut Vec<&'a ast::Expr>) {
    match e {
        ast::Expr::BinaryOp { left, op: o, right } if o == op => {
            flatten(left, op, out);
            flatten(right, op, out);
        }
        _ => out.push(e),
    }
}

fn common_type(a: Ty, b: Ty) -> Ty {
    let rank = |o: u32| match o {
        types::INT2 => 1,
        types::INT4 => 2,
        types::INT8 => 3,
        types::NUMERIC => 4,
        types::FLOAT4 => 5,
        types::FLOAT8 => 6,
        _ => 0,
    };
    if a.oid == b.oid {
        if a.typmod == b.typmod {
            a
        } else {
            Ty::new(a.oid)
        }
    } else if rank(b.oid) > rank(a.oid) && rank(a.oid) > 0 {
        b
    } else if a.oid == types::VARCHAR && b.oid == types::VARCHAR {
        Ty::new(types::VARCHAR)
    } else {
        a
    }
}

fn quote_literal(s: &str) -> String {
    let body = s.replace('\'', "''");
    if s.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

fn quote_always(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The name PostgreSQL's parser gives an output column of `e` written
/// without an alias (FigureColname).
fn figure_colname(e: &ast::Expr) -> String {
    use ast::Expr as E;
    match e {
        E::Nested(i) => figure_colname(i),
        E::Identifier(i) => ident_name(i),
        E::CompoundIdentifier(ids) => ids.last().map(ident_name).unwrap_or_default(),
        E::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| p.as_ident())
            .map(ident_name)
            .unwrap_or_else(|| "?column?".into()),
        E::Cast {
            expr, data_type, ..
        } => {
            let inner = figure_colname(expr);
            if inner != "?column?" {
                inner
            } else {
                crate::bind::data_type_to_ty(data_type)
                    .ok()
                    .map(|t| type_colname(t.oid))
                    .unwrap_or_else(|| "?column?".into())
            }
        }
        E::TypedString(ts) => crate::bind::data_type_to_ty(&ts.data_type)
            .ok()
            .map(|t| type_colname(t.oid))
            .unwrap_or_else(|| "?column?".into()),
        E::Case { .. } => "case".into(),
        E::Array(_) => "array".into(),
        E::Tuple(_) => "row".into(),
        E::Exists { .. } => "exists".into(),
        E::Value(v) if matches!(v.value, ast::Value::Boolean(_)) => "bool".into(),
        _ => "?column?".into(),
    }
}

/// A type's internal name, as a cast's column is named (`int4`, `text`).
fn type_colname(oid: u32) -> String {
    types::type_info(oid)
        .map(|i| i.name.to_string())
        .unwrap_or_else(|| "?column?".into())
}
