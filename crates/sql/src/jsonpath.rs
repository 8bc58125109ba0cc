//! SQL/JSON path execution: jsonb_path_query (a set), _array, _first,
//! jsonb_path_exists, jsonb_path_match and the `@?` / `@@` operators,
//! over the tree tusk_types::jsonpath parses.
//!
//! Why errors come in two kinds: PostgreSQL raises some failures
//! unconditionally (an unknown variable, a bad regular expression) while
//! the path language's own errors (a member accessor on a non-object in
//! strict mode, a non-numeric operand, ...) are suppressed by `silent`
//! and turn into "unknown" inside predicates. [`E::Soft`] is the second
//! kind, [`E::Hard`] the first. Lax mode unwraps arrays for accessors
//! and comparisons and wraps scalars for array accessors, and ignores
//! structural errors; `.**` ignores them even in strict mode, which is
//! why that is a flag of its own.
//!
//! Pure functions of their arguments; any backend may call them.

use std::cell::Cell;
use std::cmp::Ordering;

use tusk_common::sqlstate::{self, SqlState};
use tusk_common::PgError;
use tusk_types::json::Jsonb;
use tusk_types::jsonpath::{self as jp, BinOp, Method, Node};
use tusk_types::numeric::Numeric;

use crate::value::Value;

/// The path functions and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathFn {
    Exists,
    Match,
    QueryArray,
    QueryFirst,
}

enum E {
    Soft(PgError),
    Hard(PgError),
    /// An item was found where only existence matters (PostgreSQL's
    /// `found == NULL` evaluation): stop looking.
    Found,
}

type R<T> = Result<T, E>;

fn soft(code: &str, msg: impl Into<String>) -> E {
    E::Soft(PgError::error(SqlState::new(code), msg))
}

const MEMBER_NOT_FOUND: &str = "2203A";
const ARRAY_NOT_FOUND: &str = "22039";
const OBJECT_NOT_FOUND: &str = "2203C";
const BAD_SUBSCRIPT: &str = "22033";
const SINGLETON_REQUIRED: &str = "22038";
const NON_NUMERIC: &str = "22036";
const NUMBER_NOT_FOUND: &str = "2203B";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

struct Cx<'a> {
    root: &'a Jsonb,
    vars: Option<&'a Jsonb>,
    lax: bool,
    ignore_structural: Cell<bool>,
    /// The size of the innermost array being subscripted (for `last`).
    last: Cell<Option<usize>>,
    /// Only existence matters: the first item ends the evaluation, and a
    /// unary operator skips non-numbers instead of failing.
    exists_only: Cell<bool>,
    /// A *_tz function: datetime comparisons may use the session's zone.
    use_tz: bool,
}

fn num(n: Numeric) -> Jsonb {
    Jsonb::Number(n)
}

impl Cx<'_> {
    fn ignore(&self) -> bool {
        self.ignore_structural.get()
    }

    /// Runs `f` with [`Cx::exists_only`] set to `on`.
    fn with_exists<T>(&self, on: bool, f: impl FnOnce() -> T) -> T {
        let saved = self.exists_only.replace(on);
        let r = f();
        self.exists_only.set(saved);
        r
    }

    /// Runs `c` on `cur` (`at` is `@`), appending the results; one
    /// level per accessor, on a stack grown on demand.
    #[recursive::recursive]
    fn run(&self, c: &[Node], cur: &Jsonb, at: &Jsonb, out: &mut Vec<Jsonb>) -> R<()> {
        let Some((n, rest)) = c.split_first() else {
            out.push(cur.clone());
            if self.exists_only.get() {
                return Err(E::Found);
            }
            return Ok(());
        };
        self.node(n, rest, cur, at, self.lax, out)
    }

    /// The results of `c` with arrays unwrapped one level in lax mode.
    fn run_unwrapped(&self, c: &[Node], cur: &Jsonb, at: &Jsonb) -> R<Vec<Jsonb>> {
        let mut v = Vec::new();
        self.with_exists(false, || self.run(c, cur, at, &mut v))?;
        if !self.lax {
            return Ok(v);
        }
        let mut out = Vec::with_capacity(v.len());
        for x in v {
            match x {
                Jsonb::Array(items) => out.extend(items),
                other => out.push(other),
            }
        }
        Ok(out)
    }

    fn node(
        &self,
        n: &Node,
        rest: &[Node],
        cur: &Jsonb,
        at: &Jsonb,
        unwrap: bool,
        out: &mut Vec<Jsonb>,
    ) -> R<()> {
        // Accessors that apply to each element of an array in lax mode.
        let unwraps = matches!(
            n,
            Node::Key(_)
                | Node::AnyKey
                | Node::Filter(_)
                | Node::Method(Method::Abs | Method::Floor | Method::Ceiling | Method::Double)
                | Node::Method(Method::KeyValue)
                | Node::Datetime(_)
        );
        if unwraps && unwrap && self.lax {
            if let Jsonb::Array(items) = cur {
                for it in items {
                    self.node(n, rest, it, at, false, out)?;
                }
                return Ok(());
            }
        }
        match n {
            Node::Root => self.run(rest, self.root, at, out),
            Node::Current => self.run(rest, at, at, out),
            Node::Null => self.run(rest, &Jsonb::Null, at, out),
            Node::Bool(b) => self.run(rest, &Jsonb::Bool(*b), at, out),
            Node::Numeric(x) => self.run(rest, &num(x.clone()), at, out),
            Node::String(s) => self.run(rest, &Jsonb::String(s.clone()), at, out),
            Node::Var(name) => {
                let v = self.vars.and_then(|v| v.get(name)).ok_or_else(|| {
                    E::Hard(PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!("could not find jsonpath variable \"{name}\""),
                    ))
                })?;
                self.run(rest, v, at, out)
            }
            Node::Last => {
                let Some(size) = self.last.get() else {
                    return Err(E::Hard(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        "evaluating jsonpath LAST outside of array subscript",
                    )));
                };
                self.run(rest, &num(Numeric::from_i64(size as i64 - 1)), at, out)
            }
            Node::Key(k) => match cur {
                Jsonb::Object(_) => match cur.get(k) {
                    Some(v) => self.run(rest, v, at, out),
                    None if self.ignore() => Ok(()),
                    None => Err(soft(
                        MEMBER_NOT_FOUND,
                        format!("JSON object does not contain key \"{k}\""),
                    )),
                },
                _ if self.ignore() => Ok(()),
                _ => Err(soft(
                    MEMBER_NOT_FOUND,
                    "jsonpath member accessor can only be applied to an object",
                )),
            },
            Node::AnyKey => match cur {
                Jsonb::Object(pairs) => {
                    for (_, v) in pairs {
                        self.run(rest, v, at, out)?;
                    }
                    Ok(())
                }
                _ if self.ignore() => Ok(()),
                _ => Err(soft(
                    OBJECT_NOT_FOUND,
                    "jsonpath wildcard member accessor can only be applied to an object",
                )),
            },
            Node::AnyArray => match cur {
                Jsonb::Array(items) => {
                    for v in items {
                        self.run(rest, v, at, out)?;
                    }
                    Ok(())
                }
                _ if self.lax => self.run(rest, cur, at, out),
                _ => Err(soft(
                    ARRAY_NOT_FOUND,
                    "jsonpath wildcard array accessor can only be applied to an array",
                )),
            },
            Node::Index(subs) => self.index(subs, rest, cur, at, out),
            Node::Any(first, last) => {
                if *first == 0 {
                    self.run(rest, cur, at, out)?;
                }
                self.any(cur, 1, *first, *last, rest, at, out)
            }
            Node::Filter(p) => {
                if self.pred(p, cur)? == Tri::True {
                    self.run(rest, cur, at, out)?;
                }
                Ok(())
            }
            Node::Method(m) => self.method(*m, rest, cur, at, out),
            Node::Datetime(t) => match cur {
                Jsonb::String(s) => {
                    let d = match t {
                        Some(t) => crate::jsonpath_dt::with_template(s, t),
                        None => crate::jsonpath_dt::recognize(s),
                    }
                    .map_err(E::Soft)?;
                    self.run(rest, &Jsonb::Datetime(d), at, out)
                }
                _ => Err(soft(
                    "22031",
                    "jsonpath item method .datetime() can only be applied to a string",
                )),
            },
            Node::Binary(op, l, r) if !op.is_predicate() => {
                let name = op.name();
                let ls = self.run_unwrapped(l, cur, at)?;
                let rs = self.run_unwrapped(r, cur, at)?;
                let (Some(Jsonb::Number(a)), 1) = (ls.first(), ls.len()) else {
                    return Err(soft(
                        SINGLETON_REQUIRED,
                        format!("left operand of jsonpath operator {name} is not a single numeric value"),
                    ));
                };
                let (Some(Jsonb::Number(b)), 1) = (rs.first(), rs.len()) else {
                    return Err(soft(
                        SINGLETON_REQUIRED,
                        format!("right operand of jsonpath operator {name} is not a single numeric value"),
                    ));
                };
                let res = match op {
                    BinOp::Add => a.add(b),
                    BinOp::Sub => a.sub(b),
                    BinOp::Mul => a.mul(b),
                    BinOp::Div => a.div(b),
                    _ => a.rem(b),
                }
                .map_err(E::Soft)?;
                self.run(rest, &num(res), at, out)
            }
            Node::Plus(a) | Node::Minus(a) => {
                let minus = matches!(n, Node::Minus(_));
                let skip_others = self.exists_only.get() && rest.is_empty();
                for v in self.run_unwrapped(a, cur, at)? {
                    let Jsonb::Number(x) = v else {
                        if skip_others {
                            continue;
                        }
                        return Err(soft(
                            NUMBER_NOT_FOUND,
                            format!(
                                "operand of unary jsonpath operator {} is not a numeric value",
                                if minus { "-" } else { "+" }
                            ),
                        ));
                    };
                    let x = if minus { x.neg() } else { x };
                    self.run(rest, &num(x), at, out)?;
                }
                Ok(())
            }
            // A predicate in a value's place yields true, false or null.
            _ => {
                let t = self.pred_node(n, cur, at)?;
                let v = match t {
                    Tri::True => Jsonb::Bool(true),
                    Tri::False => Jsonb::Bool(false),
                    Tri::Unknown => Jsonb::Null,
                };
                self.run(rest, &v, at, out)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[recursive::recursive]
    fn any(
        &self,
        cur: &Jsonb,
        level: u32,
        first: u32,
        last: u32,
        rest: &[Node],
        at: &Jsonb,
        out: &mut Vec<Jsonb>,
    ) -> R<()> {
        if level > last {
            return Ok(());
        }
        let children: Vec<&Jsonb> = match cur {
            Jsonb::Array(items) => items.iter().collect(),
            Jsonb::Object(pairs) => pairs.iter().map(|(_, v)| v).collect(),
            _ => return Ok(()),
        };
        for v in children {
            let leaf = !matches!(v, Jsonb::Array(_) | Jsonb::Object(_));
            if level >= first || (first == jp::ANY_LAST && last == jp::ANY_LAST && leaf) {
                let saved = self.ignore_structural.replace(true);
                let r = self.run(rest, v, at, out);
                self.ignore_structural.set(saved);
                r?;
            }
            if level < last && !leaf {
                self.any(v, level + 1, first, last, rest, at, out)?;
            }
        }
        Ok(())
    }

    fn subscript(&self, c: &[Node], cur: &Jsonb, at: &Jsonb) -> R<i64> {
        let mut v = Vec::new();
        self.with_exists(false, || self.run(c, cur, at, &mut v))?;
        let (Some(Jsonb::Number(n)), 1) = (v.first(), v.len()) else {
            return Err(soft(
                BAD_SUBSCRIPT,
                "jsonpath array subscript is not a single numeric value",
            ));
        };
        let t = n.trunc(0);
        match t.to_i64_rounded() {
            Some(i) if i32::try_from(i).is_ok() => Ok(i),
            _ => Err(soft(
                BAD_SUBSCRIPT,
                "jsonpath array subscript is out of integer range",
            )),
        }
    }

    fn index(
        &self,
        subs: &[(jp::Chain, Option<jp::Chain>)],
        rest: &[Node],
        cur: &Jsonb,
        at: &Jsonb,
        out: &mut Vec<Jsonb>,
    ) -> R<()> {
        let items: Vec<&Jsonb> = match cur {
            Jsonb::Array(items) => items.iter().collect(),
            _ if self.lax => vec![cur],
            _ => {
                return Err(soft(
                    ARRAY_NOT_FOUND,
                    "jsonpath array accessor can only be applied to an array",
                ))
            }
        };
        let size = items.len() as i64;
        let saved = self.last.replace(Some(items.len()));
        let r = (|| {
            for (from, to) in subs {
                let f = self.subscript(from, cur, at)?;
                let t = match to {
                    Some(t) => self.subscript(t, cur, at)?,
                    None => f,
                };
                if (f < 0 || f > t || t >= size) && !self.ignore() {
                    return Err(soft(
                        BAD_SUBSCRIPT,
                        "jsonpath array subscript is out of bounds",
                    ));
                }
                let f = f.max(0);
                let t = t.min(size - 1);
                let mut i = f;
                while i <= t {
                    self.run(rest, items[i as usize], at, out)?;
                    i += 1;
                }
            }
            Ok(())
        })();
        self.last.set(saved);
        r
    }

    fn method(
        &self,
        m: Method,
        rest: &[Node],
        cur: &Jsonb,
        at: &Jsonb,
        out: &mut Vec<Jsonb>,
    ) -> R<()> {
        match m {
            Method::Type => self.run(rest, &Jsonb::String(cur.type_name().into()), at, out),
            Method::Size => {
                let n = match cur {
                    Jsonb::Array(items) => items.len(),
                    _ if self.ignore() => 1,
                    _ => {
                        return Err(soft(
                            ARRAY_NOT_FOUND,
                            "jsonpath item method .size() can only be applied to an array",
                        ))
                    }
                };
                self.run(rest, &num(Numeric::from_i64(n as i64)), at, out)
            }
            Method::Abs | Method::Floor | Method::Ceiling => {
                let Jsonb::Number(x) = cur else {
                    return Err(soft(
                        NON_NUMERIC,
                        format!(
                            "jsonpath item method .{}() can only be applied to a numeric value",
                            m.name()
                        ),
                    ));
                };
                let r = match m {
                    Method::Abs => x.abs(),
                    Method::Floor => floor(x),
                    _ => floor(&x.neg()).neg(),
                };
                self.run(rest, &num(r), at, out)
            }
            Method::Double => {
                let bad_range = || {
                    soft(
                        NON_NUMERIC,
                        "numeric argument of jsonpath item method .double() is out of range for type double precision",
                    )
                };
                match cur {
                    Jsonb::Number(x) => {
                        let f: f64 = x.to_text().parse().map_err(|_| bad_range())?;
                        if !f.is_finite() {
                            return Err(bad_range());
                        }
                        self.run(rest, cur, at, out)
                    }
                    Jsonb::String(s) => {
                        let bad = || {
                            soft(
                                NON_NUMERIC,
                                "string argument of jsonpath item method .double() is not a valid representation of a double precision number",
                            )
                        };
                        let v = tusk_types::cast::input(
                            s,
                            tusk_types::types::Ty::new(tusk_types::types::FLOAT8),
                            0,
                        )
                        .map_err(|_| bad())?;
                        let Value::Float8(f) = v else {
                            return Err(bad());
                        };
                        if !f.is_finite() {
                            return Err(bad());
                        }
                        let n = Numeric::from_f64(f, 15).map_err(|_| bad())?;
                        self.run(rest, &num(n), at, out)
                    }
                    _ => Err(soft(
                        NON_NUMERIC,
                        "jsonpath item method .double() can only be applied to a string or numeric value",
                    )),
                }
            }
            Method::KeyValue => {
                let Jsonb::Object(pairs) = cur else {
                    return Err(soft(
                        OBJECT_NOT_FOUND,
                        "jsonpath item method .keyvalue() can only be applied to an object",
                    ));
                };
                // PostgreSQL's id is the object's byte offset in the
                // stored jsonb; tusk computes the same layout.
                let mut found = None;
                layout(self.root, 0, cur, &mut found);
                let id = Jsonb::Number(Numeric::from_i64(found.unwrap_or(0) as i64));
                for (k, v) in pairs {
                    let o = Jsonb::object(vec![
                        ("key".into(), Jsonb::String(k.clone())),
                        ("value".into(), v.clone()),
                        ("id".into(), id.clone()),
                    ]);
                    self.run(rest, &o, at, out)?;
                }
                Ok(())
            }
        }
    }

    /// A predicate chain evaluated with `@` = `at`.
    fn pred(&self, c: &jp::Chain, at: &Jsonb) -> R<Tri> {
        self.with_exists(false, || match c.as_slice() {
            [n] => self.pred_node(n, at, at),
            _ => Ok(Tri::Unknown),
        })
    }

    /// Runs `c` with soft errors turned into `None` (PostgreSQL's NoThrow).
    /// With `unwrap` false (exists), lax mode stops at the first item.
    fn quiet(&self, c: &[Node], cur: &Jsonb, at: &Jsonb, unwrap: bool) -> R<Option<Vec<Jsonb>>> {
        let mut v = Vec::new();
        let r = if unwrap {
            self.run_unwrapped(c, cur, at).map(|x| v = x)
        } else {
            self.with_exists(self.lax, || self.run(c, cur, at, &mut v))
        };
        match r {
            Ok(()) | Err(E::Found) => Ok(Some(v)),
            Err(E::Soft(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    #[recursive::recursive]
    fn pred_node(&self, n: &Node, cur: &Jsonb, at: &Jsonb) -> R<Tri> {
        match n {
            Node::Binary(BinOp::And, l, r) => {
                let a = self.pred_sub(l, cur, at)?;
                if a == Tri::False {
                    return Ok(Tri::False);
                }
                let b = self.pred_sub(r, cur, at)?;
                Ok(match (a, b) {
                    (Tri::True, b) => b,
                    (_, Tri::False) => Tri::False,
                    _ => Tri::Unknown,
                })
            }
            Node::Binary(BinOp::Or, l, r) => {
                let a = self.pred_sub(l, cur, at)?;
                if a == Tri::True {
                    return Ok(Tri::True);
                }
                let b = self.pred_sub(r, cur, at)?;
                Ok(match (a, b) {
                    (Tri::False, b) => b,
                    (_, Tri::True) => Tri::True,
                    _ => Tri::Unknown,
                })
            }
            Node::Not(a) => Ok(match self.pred_sub(a, cur, at)? {
                Tri::True => Tri::False,
                Tri::False => Tri::True,
                Tri::Unknown => Tri::Unknown,
            }),
            Node::IsUnknown(a) => Ok(if self.pred_sub(a, cur, at)? == Tri::Unknown {
                Tri::True
            } else {
                Tri::False
            }),
            Node::Exists(a) => Ok(match self.quiet(a, cur, at, false)? {
                None => Tri::Unknown,
                Some(v) if v.is_empty() => Tri::False,
                Some(_) => Tri::True,
            }),
            Node::Binary(op, l, r) => {
                let unwrap_right = *op != BinOp::StartsWith;
                let Some(ls) = self.quiet(l, cur, at, true)? else {
                    return Ok(Tri::Unknown);
                };
                let Some(rs) = self.quiet(r, cur, at, unwrap_right)? else {
                    return Ok(Tri::Unknown);
                };
                self.each_pair(&ls, Some(&rs), |a, b| {
                    Ok(match b {
                        Some(b) if *op == BinOp::StartsWith => match (a, b) {
                            (Jsonb::String(w), Jsonb::String(p)) => tri(w.starts_with(p.as_str())),
                            _ => Tri::Unknown,
                        },
                        Some(b) => compare(*op, a, b, self.use_tz)?,
                        None => Tri::Unknown,
                    })
                })
            }
            Node::LikeRegex(a, pat, flags) => {
                let re = compile_regex(pat, *flags).map_err(E::Hard)?;
                let Some(ls) = self.quiet(a, cur, at, true)? else {
                    return Ok(Tri::Unknown);
                };
                self.each_pair(&ls, None, |v, _| {
                    Ok(match v {
                        Jsonb::String(s) => tri(re.is_match(s).map_err(E::Hard)?),
                        _ => Tri::Unknown,
                    })
                })
            }
            // Not a predicate: PostgreSQL's grammar does not let one here.
            _ => Ok(Tri::Unknown),
        }
    }

    fn pred_sub(&self, c: &jp::Chain, cur: &Jsonb, at: &Jsonb) -> R<Tri> {
        match c.as_slice() {
            [n] => self.pred_node(n, cur, at),
            _ => Ok(Tri::Unknown),
        }
    }

    /// executePredicate's loop: lax mode stops at the first true or
    /// unknown; strict mode looks at every pair and any unknown wins.
    fn each_pair(
        &self,
        ls: &[Jsonb],
        rs: Option<&[Jsonb]>,
        f: impl Fn(&Jsonb, Option<&Jsonb>) -> R<Tri>,
    ) -> R<Tri> {
        let strict = !self.lax;
        let mut found = false;
        let mut error = false;
        for a in ls {
            let rights: Vec<Option<&Jsonb>> = match rs {
                Some(rs) => rs.iter().map(Some).collect(),
                None => vec![None],
            };
            for b in rights {
                match f(a, b)? {
                    Tri::Unknown => {
                        if strict {
                            return Ok(Tri::Unknown);
                        }
                        error = true;
                    }
                    Tri::True => {
                        if !strict {
                            return Ok(Tri::True);
                        }
                        found = true;
                    }
                    Tri::False => {}
                }
            }
        }
        Ok(if found {
            Tri::True
        } else if error {
            Tri::Unknown
        } else {
            Tri::False
        })
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The bytes a numeric takes in a stored jsonb: a varlena header, the
/// short (2-byte) or long (4-byte) numeric header and its base-10000
/// digits.
fn numeric_size(n: &Numeric) -> usize {
    let b = n.to_binary();
    let at = |i: usize| {
        i16::from_be_bytes([
            b.get(i).copied().unwrap_or(0),
            b.get(i + 1).copied().unwrap_or(0),
        ])
    };
    let (ndigits, weight, sign, dscale) = (at(0), at(2), at(4) as u16, at(6));
    if sign == 0xC000 || sign >= 0xD000 {
        return 6;
    }
    let short = dscale <= 63 && (-64..=63).contains(&weight);
    4 + if short { 2 } else { 4 } + 2 * ndigits.max(0) as usize
}

/// PostgreSQL's jsonb binary layout walked to find where `target` (a
/// container inside `v`) starts: containers are int-aligned with a
/// 4-byte header and a 4-byte entry per element (per key and value in
/// objects, keys first); numerics are int-aligned. Returns the end.
#[recursive::recursive]
fn layout(v: &Jsonb, pos: usize, target: &Jsonb, found: &mut Option<usize>) -> usize {
    match v {
        Jsonb::Array(items) => {
            let start = align4(pos);
            if std::ptr::eq(v, target) {
                *found = Some(start);
            }
            let mut p = start + 4 + 4 * items.len();
            for it in items {
                if found.is_some() {
                    break;
                }
                p = layout(it, p, target, found);
            }
            p
        }
        Jsonb::Object(pairs) => {
            let start = align4(pos);
            if std::ptr::eq(v, target) {
                *found = Some(start);
            }
            let mut p = start + 4 + 8 * pairs.len();
            for (k, _) in pairs {
                p += k.len();
            }
            for (_, it) in pairs {
                if found.is_some() {
                    break;
                }
                p = layout(it, p, target, found);
            }
            p
        }
        Jsonb::String(s) => pos + s.len(),
        Jsonb::Datetime(d) => pos + d.to_json_text().len(),
        Jsonb::Number(n) => align4(pos) + numeric_size(n),
        Jsonb::Null | Jsonb::Bool(_) => pos,
    }
}

/// The bytes PostgreSQL's jsonb datum for `j` takes (pg_column_size of
/// a computed value): a 4-byte varlena header and the root container, a
/// scalar being stored as a one-element raw-scalar array.
pub(crate) fn stored_size(j: &Jsonb) -> usize {
    let mut found = None;
    let end = if j.is_scalar() {
        layout(&Jsonb::Array(vec![j.clone()]), 0, j, &mut found)
    } else {
        layout(j, 0, &Jsonb::Null, &mut found)
    };
    4 + end
}

fn tri(b: bool) -> Tri {
    if b {
        Tri::True
    } else {
        Tri::False
    }
}

fn floor(x: &Numeric) -> Numeric {
    let t = x.trunc(0);
    if x.is_negative() && t.cmp_total(x) != Ordering::Equal {
        t.sub(&Numeric::from_i64(1)).unwrap_or(t)
    } else {
        t
    }
}

/// compareItems: items of different kinds are not comparable (unknown),
/// except that null equals only null; arrays and objects never compare.
fn compare(op: BinOp, a: &Jsonb, b: &Jsonb, use_tz: bool) -> R<Tri> {
    let ord = match (a, b) {
        (Jsonb::Datetime(x), Jsonb::Datetime(y)) => {
            match crate::jsonpath_dt::compare(x, y, use_tz).map_err(E::Hard)? {
                Some(o) => o,
                None => return Ok(Tri::Unknown),
            }
        }
        (Jsonb::Null, Jsonb::Null) => Ordering::Equal,
        (Jsonb::Null, _) | (_, Jsonb::Null) => {
            return Ok(tri(op == BinOp::Ne));
        }
        (Jsonb::Bool(x), Jsonb::Bool(y)) => x.cmp(y),
        (Jsonb::Number(x), Jsonb::Number(y)) => x.cmp_total(y),
        (Jsonb::String(x), Jsonb::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => return Ok(Tri::Unknown),
    };
    Ok(tri(match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::Ne => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Le => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    }))
}

/// Lets jsonpath input check like_regex patterns with this crate's
/// regex engine, as PostgreSQL does when it parses a path.
pub(crate) fn install_regex_check() {
    let _ = jp::REGEX_CHECK.get_or_init(|| |p, f| compile_regex(p, f).map(|_| ()));
}

/// like_regex's XQuery flags as the regexp flags pattern.rs takes.
fn compile_regex(pat: &str, flags: u8) -> Result<crate::pattern::Regex, PgError> {
    let mut f = String::new();
    if flags & jp::RE_ICASE != 0 {
        f.push('i');
    }
    // XQuery's default: `.` does not match a newline (PostgreSQL's
    // REG_NLSTOP, regexp flag `p`); `m` makes ^ and $ match at newlines.
    if flags & jp::RE_QUOTE != 0 {
        f.push('q');
    } else {
        let dotall = flags & jp::RE_DOTALL != 0;
        let mline = flags & jp::RE_MLINE != 0;
        f.push(match (dotall, mline) {
            (false, false) => 'p',
            (false, true) => 'n',
            (true, true) => 'w',
            (true, false) => 's',
        });
    }
    Ok(crate::pattern::compile_flags(pat, Some(&f))?.0)
}

/// Executes `path` (jsonpath text) over `target`: the items found, and
/// whether a path error was suppressed by `silent` (the items found
/// before it are kept, as PostgreSQL keeps them). `exists`: only whether
/// there is an item matters.
fn execute(
    target: &Jsonb,
    path: &str,
    vars: Option<&Jsonb>,
    silent: bool,
    exists: bool,
    use_tz: bool,
) -> Result<(Vec<Jsonb>, bool), PgError> {
    let p = jp::parse(path)?;
    if let Some(v) = vars {
        if !matches!(v, Jsonb::Object(_)) {
            return Err(PgError::error(
                sqlstate::INVALID_PARAMETER_VALUE,
                "\"vars\" argument is not an object",
            )
            .with_detail(
                "Jsonpath parameters should be encoded as key-value pairs of \"vars\" object.",
            ));
        }
    }
    let cx = Cx {
        root: target,
        vars,
        lax: p.lax,
        ignore_structural: Cell::new(p.lax),
        last: Cell::new(None),
        // Strict mode must see every item to know there is no error.
        exists_only: Cell::new(exists && p.lax),
        use_tz,
    };
    let mut out = Vec::new();
    let r = match cx.run(&p.expr, target, target, &mut out) {
        Ok(()) | Err(E::Found) => Ok(false),
        Err(E::Soft(e)) if !silent => Err(e),
        Err(E::Soft(_)) => Ok(true),
        Err(E::Hard(e)) => Err(e),
    }?;
    // A date/time item leaves the evaluation as its JSON text.
    for j in &mut out {
        if let Jsonb::Datetime(d) = j {
            *j = Jsonb::String(d.to_json_text());
        }
    }
    Ok((out, r))
}

/// A call's (target, path text, vars, silent).
/// The *_tz functions' binding adds a fifth argument, true.
type PathArgs = (Jsonb, String, Option<Jsonb>, bool, bool);

fn args_of(args: &[Value]) -> Result<Option<PathArgs>, PgError> {
    if args.iter().any(Value::is_null) {
        return Ok(None);
    }
    let target = match args.first() {
        Some(Value::Jsonb(j)) => (**j).clone(),
        _ => return Ok(None),
    };
    let path = match args.get(1) {
        Some(Value::Text(s)) => s.clone(),
        _ => return Ok(None),
    };
    let vars = match args.get(2) {
        Some(Value::Jsonb(j)) => Some((**j).clone()),
        _ => None,
    };
    let silent = matches!(args.get(3), Some(Value::Bool(true)));
    let use_tz = matches!(args.get(4), Some(Value::Bool(true)));
    Ok(Some((target, path, vars, silent, use_tz)))
}

/// jsonb_path_query's rows.
pub(crate) fn query(args: Vec<Value>) -> Result<Vec<Vec<Value>>, PgError> {
    let Some((t, p, v, s, tz)) = args_of(&args)? else {
        return Ok(Vec::new());
    };
    Ok(execute(&t, &p, v.as_ref(), s, false, tz)?
        .0
        .into_iter()
        .map(|j| vec![Value::Jsonb(Box::new(j))])
        .collect())
}

/// The scalar path functions and `@?` / `@@` (`silent` forced by the
/// binder for the operators).
pub(crate) fn eval(f: PathFn, args: Vec<Value>) -> Result<Value, PgError> {
    let Some((t, p, v, s, tz)) = args_of(&args)? else {
        return Ok(Value::Null);
    };
    let (items, failed) = execute(&t, &p, v.as_ref(), s, f == PathFn::Exists, tz)?;
    Ok(match f {
        PathFn::Exists if failed => Value::Null,
        PathFn::Exists => Value::Bool(!items.is_empty()),
        PathFn::QueryArray => Value::Jsonb(Box::new(Jsonb::Array(items))),
        PathFn::QueryFirst => match items.into_iter().next() {
            Some(j) => Value::Jsonb(Box::new(j)),
            None => Value::Null,
        },
        PathFn::Match => match items.as_slice() {
            [Jsonb::Bool(b)] => Value::Bool(*b),
            [Jsonb::Null] => Value::Null,
            _ if s => Value::Null,
            _ => {
                return Err(PgError::error(
                    SqlState::new(SINGLETON_REQUIRED),
                    "single boolean result is expected",
                ))
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(target: &str, path: &str) -> Result<Vec<String>, String> {
        let t = tusk_types::json::parse_jsonb(target).map_err(|e| e.message)?;
        execute(&t, path, None, false, false, false)
            .map(|(items, _)| items.iter().map(tusk_types::json::to_text).collect())
            .map_err(|e| e.message)
    }

    // Each expected value below is PostgreSQL 15's (jsonb_jsonpath.out).
    #[test]
    fn lax_unwraps_and_strict_raises() {
        assert_eq!(
            q(r#"{"a": [{"b": 1}, {"b": 2}]}"#, "$.a.b"),
            Ok(vec!["1".into(), "2".into()])
        );
        assert_eq!(q(r#"{"a": 12}"#, "lax $.b"), Ok(vec![]));
        assert_eq!(
            q(r#"{"a": 12}"#, "strict $.b"),
            Err(r#"JSON object does not contain key "b""#.into())
        );
        assert_eq!(q("1", "lax $[0]"), Ok(vec!["1".into()]));
        assert_eq!(
            q("1", "strict $[0]"),
            Err("jsonpath array accessor can only be applied to an array".into())
        );
        assert_eq!(q("[1, 2, 3]", "$[last]"), Ok(vec!["3".into()]));
        assert_eq!(
            q(r#"{"a": {"b": 1}}"#, "lax $.**{0}"),
            Ok(vec![r#"{"a": {"b": 1}}"#.into()])
        );
    }

    #[test]
    fn predicates_are_three_valued() {
        assert_eq!(
            q(r#"[1, "a", null]"#, "$[*] ? (@ > 0)"),
            Ok(vec!["1".into()])
        );
        assert_eq!(q("1", "$ == \"a\""), Ok(vec!["null".into()]));
        assert_eq!(q("1", "($ == \"a\") is unknown"), Ok(vec!["true".into()]));
        assert_eq!(q("null", "$ != 1"), Ok(vec!["true".into()]));
        assert_eq!(
            q(r#"["abc", "xbc"]"#, "$[*] ? (@ starts with \"ab\")"),
            Ok(vec![r#""abc""#.into()])
        );
    }

    #[test]
    fn stored_size_is_postgres_layout() {
        // pg_column_size of these literals in PostgreSQL 15.
        for (j, n) in [
            ("{}", 8),
            (r#"{"aa":1, "b":2}"#, 44),
            (r#"[1,"abc",null,{"x":[1.5]}]"#, 70),
            ("1", 20),
            (r#""abcd""#, 16),
        ] {
            let t = tusk_types::json::parse_jsonb(j).unwrap();
            assert_eq!(stored_size(&t), n, "{j}");
        }
    }

    #[test]
    fn arithmetic_and_methods() {
        assert_eq!(q("[1, 2]", "$[0] + $[1] * 3"), Ok(vec!["7".into()]));
        assert_eq!(
            q("[1, 2]", "$ + 1"),
            Err("left operand of jsonpath operator + is not a single numeric value".into())
        );
        assert_eq!(q("-2.5", "$.abs().ceiling()"), Ok(vec!["3".into()]));
        assert_eq!(q("[1, 2, 3]", "$.size()"), Ok(vec!["3".into()]));
        assert_eq!(q(r#""1.23""#, "$.double()"), Ok(vec!["1.23".into()]));
        assert_eq!(
            q(
                r#"[{"a": 1, "b": [1, 2]}, {"c": {"a": "bbb"}}]"#,
                "$[*].keyvalue()"
            ),
            Ok(vec![
                r#"{"id": 12, "key": "a", "value": 1}"#.into(),
                r#"{"id": 12, "key": "b", "value": [1, 2]}"#.into(),
                r#"{"id": 72, "key": "c", "value": {"a": "bbb"}}"#.into(),
            ])
        );
    }
}
