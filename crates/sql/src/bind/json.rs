//! Binding json and jsonb syntax: the operators (-> ->> #> #>> @> <@ ?
//! ?| ?& || - #-), the json functions, and the json set-returning
//! functions in FROM, into `Expr::Json` nodes and `SrfOp::Json` sources
//! (crates/sql/src/json.rs evaluates them).
//!
//! Why a child of the binder: it needs the binder's coercion, but keeping
//! it in its own file leaves the hooks in bind.rs to one call each.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::json::{JsonOp, JsonSrf};
use crate::jsonpath::PathFn;
use crate::jsonrec::Target;

/// The `vars` default of the path functions: `'{}'::jsonb`.
fn empty_vars() -> Bound {
    Bound::new(
        Expr::Const(Value::Jsonb(Box::new(tusk_types::json::Jsonb::Object(
            Vec::new(),
        )))),
        Ty::new(types::JSONB),
    )
}

/// The parameter names of the jsonb_path_* functions, in order.
const PATH_PARAMS: &[&str] = &["target", "path", "vars", "silent"];
/// jsonb_set_lax's parameter names, in order.
const SET_LAX_PARAMS: &[&str] = &[
    "jsonb_in",
    "path",
    "replacement",
    "create_if_missing",
    "null_value_treatment",
];

fn is_path_function(name: &str) -> bool {
    // The _tz variants differ only in datetime comparisons: a fifth
    // argument (path_args).
    let name = name.strip_suffix("_tz").unwrap_or(name);
    matches!(
        name,
        "jsonb_path_query"
            | "jsonb_path_query_array"
            | "jsonb_path_query_first"
            | "jsonb_path_exists"
            | "jsonb_path_match"
    )
}

const TEXT_ARRAY: Oid = 1009;

fn is_json(oid: Oid) -> bool {
    oid == types::JSON || oid == types::JSONB
}

fn jnode(op: JsonOp, args: Vec<Bound>, ty: Oid) -> Bound {
    Bound::new(
        Expr::Json(op, args.into_iter().map(|b| b.e).collect()),
        Ty::new(ty),
    )
}

fn no_function(name: &str, args: &[Bound]) -> PgError {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.is_unknown() {
                "unknown".to_string()
            } else {
                types::sql_name(a.ty.oid)
            }
        })
        .collect();
    PgError::error(
        sqlstate::UNDEFINED_FUNCTION,
        format!("function {name}({}) does not exist", shown.join(", ")),
    )
    .with_hint(
        "No function matches the given name and argument types. You might need to add explicit type casts.",
    )
}

impl Binder<'_> {
    /// Bring `b` to `ty` when it is of that type or an untyped literal;
    /// anything else is no match.
    fn json_want(&mut self, b: Bound, ty: Oid) -> Result<Result<Bound, Bound>, PgError> {
        if b.ty.oid == ty {
            return Ok(Ok(b));
        }
        if b.is_unknown() {
            return Ok(Ok(self.coerce(b, Ty::new(ty))?));
        }
        if ty == types::TEXT && is_stringish(b.ty.oid) {
            return Ok(Ok(self.coerce(b, Ty::new(ty))?));
        }
        if ty == types::INT4 && matches!(b.ty.oid, types::INT2 | types::INT4) {
            return Ok(Ok(self.coerce(b, Ty::new(ty))?));
        }
        Ok(Err(b))
    }

    /// The json operators; `None` for any other expression. Runs before
    /// the array operators because `@>` / `<@` serve both.
    pub(crate) fn bind_json_expr(&mut self, e: &ast::Expr) -> Result<Option<Bound>, PgError> {
        use BinaryOperator as B;
        let ast::Expr::BinaryOp { left, op, right } = e else {
            return Ok(None);
        };
        let sym = match op {
            B::Arrow => "->",
            B::LongArrow => "->>",
            B::HashArrow => "#>",
            B::HashLongArrow => "#>>",
            B::AtArrow => "@>",
            B::ArrowAt => "<@",
            B::Question => "?",
            B::QuestionPipe => "?|",
            B::QuestionAnd => "?&",
            B::HashMinus => "#-",
            B::AtQuestion => "@?",
            B::AtAt => "@@",
            _ => return Ok(None),
        };
        let l = self.bind_expr(left)?;
        let r = self.bind_expr(right)?;
        let (l, r) = match self.geo_binary(sym, l, r)? {
            Ok(b) => return Ok(Some(b)),
            Err(lr) => lr,
        };
        if matches!(op, B::AtQuestion | B::AtAt) {
            // jsonb @? jsonpath / jsonb @@ jsonpath: the path functions
            // with no variables, silent.
            let (lt, rt) = (l.ty.oid, r.ty.oid);
            let fail = || op_not_exist(sym, Some(lt), rt);
            let l = self.json_want(l, types::JSONB)?.map_err(|_| fail())?;
            let r = self.json_want(r, types::JSONPATH)?.map_err(|_| fail())?;
            let f = if *op == B::AtQuestion {
                PathFn::Exists
            } else {
                PathFn::Match
            };
            let args = vec![
                l,
                r,
                empty_vars(),
                Bound::new(Expr::Const(Value::Bool(true)), Ty::new(types::BOOL)),
            ];
            return Ok(Some(jnode(
                JsonOp::JsonPath { f, op: true },
                args,
                types::BOOL,
            )));
        }
        if matches!(op, B::AtArrow | B::ArrowAt) && !is_json(l.ty.oid) && !is_json(r.ty.oid) {
            let aop = if *op == B::AtArrow {
                crate::arrays::ArrOp::Contains
            } else {
                crate::arrays::ArrOp::ContainedBy
            };
            return Ok(Some(self.array_containment(aop, l, r, sym)?));
        }
        let lt = l.ty.oid;
        let rt = r.ty.oid;
        let fail = || op_not_exist(sym, Some(lt), rt);
        if !(is_json(lt) || matches!(op, B::ArrowAt) && l.is_unknown()) {
            return Err(fail());
        }
        let jsonb_only = !matches!(
            op,
            B::Arrow | B::LongArrow | B::HashArrow | B::HashLongArrow
        );
        if jsonb_only && lt == types::JSON {
            return Err(fail());
        }
        let text = matches!(op, B::LongArrow | B::HashLongArrow);
        let out_json = if text { types::TEXT } else { lt };
        Ok(Some(match op {
            B::Arrow | B::LongArrow => {
                if matches!(rt, types::INT2 | types::INT4 | types::INT8) {
                    let r = self.coerce(r, Ty::new(types::INT4))?;
                    jnode(JsonOp::Index { text }, vec![l, r], out_json)
                } else {
                    let r = self.json_want(r, types::TEXT)?.map_err(|_| fail())?;
                    jnode(JsonOp::Field { text }, vec![l, r], out_json)
                }
            }
            B::HashArrow | B::HashLongArrow => {
                let r = self.json_want(r, TEXT_ARRAY)?.map_err(|_| fail())?;
                jnode(JsonOp::Path { text }, vec![l, r], out_json)
            }
            B::AtArrow | B::ArrowAt => {
                let l = self.json_want(l, types::JSONB)?.map_err(|_| fail())?;
                let r = self.json_want(r, types::JSONB)?.map_err(|_| fail())?;
                let jop = if *op == B::AtArrow {
                    JsonOp::Contains
                } else {
                    JsonOp::ContainedBy
                };
                jnode(jop, vec![l, r], types::BOOL)
            }
            B::Question => {
                let r = self.json_want(r, types::TEXT)?.map_err(|_| fail())?;
                jnode(JsonOp::Exists, vec![l, r], types::BOOL)
            }
            B::QuestionPipe | B::QuestionAnd => {
                let r = self.json_want(r, TEXT_ARRAY)?.map_err(|_| fail())?;
                let jop = if *op == B::QuestionPipe {
                    JsonOp::ExistsAny
                } else {
                    JsonOp::ExistsAll
                };
                jnode(jop, vec![l, r], types::BOOL)
            }
            _ => {
                let r = self.json_want(r, TEXT_ARRAY)?.map_err(|_| fail())?;
                jnode(JsonOp::DeletePath, vec![l, r], types::JSONB)
            }
        }))
    }

    /// `jsonb || jsonb`; `Err` hands the operands back when neither is
    /// jsonb.
    pub(crate) fn json_concat(
        &mut self,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        if l.ty.oid != types::JSONB && r.ty.oid != types::JSONB {
            return Ok(Err((l, r)));
        }
        let (lt, rt) = (l.ty.oid, r.ty.oid);
        let l = self
            .json_want(l, types::JSONB)?
            .map_err(|_| op_not_exist("||", Some(lt), rt))?;
        let r = self
            .json_want(r, types::JSONB)?
            .map_err(|_| op_not_exist("||", Some(lt), rt))?;
        Ok(Ok(jnode(JsonOp::Concat, vec![l, r], types::JSONB)))
    }

    /// `jsonb - text | int | text[]`; `Err` when the left side is not
    /// jsonb.
    pub(crate) fn json_minus(
        &mut self,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        if l.ty.oid != types::JSONB {
            return Ok(Err((l, r)));
        }
        let rt = r.ty.oid;
        let (op, r) = if matches!(rt, types::INT2 | types::INT4 | types::INT8) {
            (JsonOp::DeleteIndex, self.coerce(r, Ty::new(types::INT4))?)
        } else if rt == TEXT_ARRAY {
            (JsonOp::DeleteKeys, r)
        } else {
            match self.json_want(r, types::TEXT)? {
                Ok(r) => (JsonOp::DeleteKey, r),
                Err(_) => return Err(op_not_exist("-", Some(types::JSONB), rt)),
            }
        };
        Ok(Ok(jnode(op, vec![l, r], types::JSONB)))
    }

    /// `jsonb[...][...]` read: every subscript as text, the path of `#>`
    /// (jsonb_subscript_transform: integer or text subscripts, no slices).
    pub(crate) fn jsonb_subscripts(
        &mut self,
        base: Bound,
        chain: &[ast::AccessExpr],
    ) -> Result<Bound, PgError> {
        let mut args = vec![base];
        for a in chain {
            let ast::AccessExpr::Subscript(ast::Subscript::Index { index }) = a else {
                if let ast::AccessExpr::Subscript(ast::Subscript::Slice {
                    lower_bound,
                    upper_bound,
                    ..
                }) = a
                {
                    // PostgreSQL points at the upper bound, else the lower.
                    let at = upper_bound
                        .as_ref()
                        .or(lower_bound.as_ref())
                        .and_then(|e| self.at(sqlparser::ast::Spanned::span(e)));
                    return Err(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        "jsonb subscript does not support slices",
                    )
                    .with_position(at));
                }
                return Err(not_supported("field selection"));
            };
            let x = self.bind_expr(index)?;
            let x = match x.ty.oid {
                _ if x.is_unknown() => self.coerce(x, Ty::new(types::TEXT))?,
                types::INT2 | types::INT4 => self.explicit_cast(x, Ty::new(types::TEXT))?,
                o if is_stringish(o) => self.coerce(x, Ty::new(types::TEXT))?,
                o => {
                    return Err(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        format!("subscript type {} is not supported", types::sql_name(o)),
                    )
                    .with_hint("jsonb subscript must be coercible to either integer or text.")
                    .with_position(self.at(sqlparser::ast::Spanned::span(index))))
                }
            };
            args.push(x);
        }
        Ok(jnode(JsonOp::Path { text: false }, args, types::JSONB))
    }

    /// The arguments of a jsonb_path_* call coerced to (jsonb, jsonpath,
    /// jsonb, bool), the defaults filled in; `Err(args)` when they do not
    /// fit.
    fn path_args(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Vec<Bound>, Vec<Bound>>, PgError> {
        if !(2..=4).contains(&args.len()) {
            return Ok(Err(args));
        }
        let want = [types::JSONB, types::JSONPATH, types::JSONB, types::BOOL];
        let mut out = Vec::with_capacity(4);
        let mut it = args.into_iter();
        for (i, a) in it.by_ref().enumerate() {
            match self.json_want(a, want[i])? {
                Ok(a) => out.push(a),
                Err(a) if want[i] == types::BOOL && a.ty.oid == types::BOOL => out.push(a),
                Err(a) => {
                    let mut all: Vec<Bound> = out;
                    all.push(a);
                    return Err(no_function(name, &all));
                }
            }
        }
        if out.len() < 3 {
            out.push(empty_vars());
        }
        if out.len() < 4 {
            out.push(Bound::new(
                Expr::Const(Value::Bool(false)),
                Ty::new(types::BOOL),
            ));
        }
        if name.ends_with("_tz") {
            // Datetime comparisons may use the session's zone
            // (crates/sql/src/jsonpath_dt.rs).
            out.push(Bound::new(
                Expr::Const(Value::Bool(true)),
                Ty::new(types::BOOL),
            ));
        }
        Ok(Ok(out))
    }

    /// A jsonb_path_* or jsonb_set_lax call with named arguments
    /// (`silent => true`): the arguments in parameter order, the defaults
    /// filling the gaps, or `None` for any other function.
    pub(crate) fn path_named_args(
        &mut self,
        name: &str,
        raw: &[&ast::FunctionArg],
    ) -> Result<Option<Vec<Bound>>, PgError> {
        let params = if is_path_function(name) {
            PATH_PARAMS
        } else if name == "jsonb_set_lax" {
            SET_LAX_PARAMS
        } else {
            return Ok(None);
        };
        let n = params.len();
        let mut slots: Vec<Option<Bound>> = (0..n).map(|_| None).collect();
        let mut next = 0;
        for a in raw {
            let (slot, e) = match *a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                    next += 1;
                    (next - 1, e)
                }
                ast::FunctionArg::Named {
                    name: n,
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => match params.iter().position(|p| *p == ident_name(n)) {
                    Some(i) => (i, e),
                    None => return Ok(None),
                },
                ast::FunctionArg::ExprNamed {
                    name: ast::Expr::Identifier(n),
                    arg: ast::FunctionArgExpr::Expr(e),
                    ..
                } => match params.iter().position(|p| *p == ident_name(n)) {
                    Some(i) => (i, e),
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
            if slot >= n || slots[slot].is_some() {
                return Ok(None);
            }
            slots[slot] = Some(self.bind_expr(e)?);
        }
        // A default for each gap before the last argument given.
        let given = slots.iter().rposition(Option::is_some).unwrap_or(0);
        for (i, s) in slots.iter_mut().enumerate().take(given) {
            if s.is_none() {
                *s = Some(match (params == PATH_PARAMS, i) {
                    (true, 2) => empty_vars(),
                    (true, _) => Bound::new(Expr::Const(Value::Bool(false)), Ty::new(types::BOOL)),
                    (false, 3) => Bound::new(Expr::Const(Value::Bool(true)), Ty::new(types::BOOL)),
                    (false, _) => Bound::new(
                        Expr::Const(Value::Text("use_json_null".into())),
                        Ty::new(types::TEXT),
                    ),
                });
            }
        }
        let mut out = Vec::new();
        for s in slots {
            match s {
                Some(b) => out.push(b),
                None => break,
            }
        }
        Ok(Some(out))
    }

    /// The json functions; `Err(args)` gives the arguments back when
    /// `name` is none of them.
    pub(crate) fn json_function(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        if is_path_function(name)
            && !name.starts_with("jsonb_path_query_tz")
            && name != "jsonb_path_query"
        {
            let f = match name.strip_suffix("_tz").unwrap_or(name) {
                "jsonb_path_exists" => PathFn::Exists,
                "jsonb_path_match" => PathFn::Match,
                "jsonb_path_query_array" => PathFn::QueryArray,
                _ => PathFn::QueryFirst,
            };
            let ret = if matches!(f, PathFn::Exists | PathFn::Match) {
                types::BOOL
            } else {
                types::JSONB
            };
            return Ok(match self.path_args(name, args)? {
                Ok(a) => Ok(jnode(JsonOp::JsonPath { f, op: false }, a, ret)),
                Err(a) => Err(a),
            });
        }
        if matches!(record_function(name), Some((_, _, false))) {
            return Ok(match self.json_record_call(name, args, None)? {
                Ok((b, _)) => Ok(b),
                Err(a) => Err(a),
            });
        }
        let (b, base) = if let Some(r) = name.strip_prefix("jsonb_") {
            (true, r)
        } else if let Some(r) = name.strip_prefix("json_") {
            (false, r)
        } else {
            match name {
                "to_json" | "to_jsonb" => {
                    if args.len() != 1 {
                        return Ok(Err(args));
                    }
                    let b = name == "to_jsonb";
                    let mut args = args;
                    let a = args.pop().expect("one argument");
                    let a = if a.is_unknown() {
                        return Err(PgError::error(
                            sqlstate::INDETERMINATE_DATATYPE,
                            "could not determine polymorphic type because input has type unknown",
                        ));
                    } else {
                        a
                    };
                    let ty = if b { types::JSONB } else { types::JSON };
                    return Ok(Ok(jnode(JsonOp::ToJson { b }, vec![a], ty)));
                }
                "pg_column_size" if args.len() == 1 && args[0].ty.oid == types::JSONB => {
                    return Ok(Ok(jnode(JsonOp::ColumnSize, args, types::INT4)));
                }
                "row_to_json" | "array_to_json" if args.len() == 1 => {
                    let op = if name == "row_to_json" {
                        JsonOp::RowToJson
                    } else {
                        JsonOp::ArrayToJson
                    };
                    let mut args = args;
                    if op == JsonOp::RowToJson {
                        // The row type's field names (crate::json).
                        if let Some(fields) = tusk_types::composite::fields(args[0].ty) {
                            for f in fields {
                                args.push(Bound::new(
                                    Expr::Const(Value::Text(f.name)),
                                    Ty::new(types::TEXT),
                                ));
                            }
                        }
                    }
                    return Ok(Ok(jnode(op, args, types::JSON)));
                }
                // The pretty_bool forms: the one-argument value with a line
                // feed after each top-level comma.
                "row_to_json" | "array_to_json"
                    if args.len() == 2
                        && (args[1].is_unknown() || args[1].ty.oid == types::BOOL) =>
                {
                    let mut args = args;
                    let flag = args.pop().expect("two arguments");
                    let flag = self.coerce(flag, Ty::new(types::BOOL))?;
                    let inner = match self.json_function(name, args)? {
                        Ok(b) => b,
                        Err(mut a) => {
                            a.push(flag);
                            return Ok(Err(a));
                        }
                    };
                    return Ok(Ok(jnode(JsonOp::PrettyTop, vec![inner, flag], types::JSON)));
                }
                _ => return Ok(Err(args)),
            }
        };
        let jt = if b { types::JSONB } else { types::JSON };
        // Variadic "any" builders: unknown literals are text.
        if matches!(base, "build_object" | "build_array") {
            let mut bound = Vec::with_capacity(args.len());
            for a in args {
                bound.push(if a.is_unknown() {
                    self.coerce(a, Ty::new(types::TEXT))?
                } else {
                    a
                });
            }
            let op = if base == "build_object" {
                JsonOp::BuildObject { b }
            } else {
                JsonOp::BuildArray { b }
            };
            return Ok(Ok(jnode(op, bound, jt)));
        }
        if base == "object" && (1..=2).contains(&args.len()) {
            let mut bound = Vec::with_capacity(args.len());
            for a in args {
                let shown = a.ty.oid;
                match self.json_want(a, TEXT_ARRAY)? {
                    Ok(a) => bound.push(a),
                    Err(a) => {
                        let _ = shown;
                        let mut all = bound;
                        all.push(a);
                        return Err(no_function(name, &all));
                    }
                }
            }
            return Ok(Ok(jnode(JsonOp::Object { b }, bound, jt)));
        }
        if matches!(base, "extract_path" | "extract_path_text") && !args.is_empty() {
            let text = base.ends_with("_text");
            let mut it = args.into_iter();
            let first = it.next().expect("non-empty");
            let Ok(first) = self.json_want(first, jt)? else {
                return Err(no_function(name, &[]));
            };
            let mut bound = vec![first];
            for a in it {
                match self.json_want(a, types::TEXT)? {
                    Ok(a) => bound.push(a),
                    Err(a) => {
                        // A text[] passed as VARIADIC.
                        if a.ty.oid == TEXT_ARRAY {
                            bound.push(a)
                        } else {
                            return Err(no_function(name, &[a]));
                        }
                    }
                }
            }
            let ty = if text { types::TEXT } else { jt };
            return Ok(Ok(jnode(JsonOp::Path { text }, bound, ty)));
        }
        // Fixed signatures: (base, jsonb only, params after the json
        // argument, op, result).
        let int_second = args
            .get(1)
            .is_some_and(|a| matches!(a.ty.oid, types::INT2 | types::INT4 | types::INT8));
        let (op, params, ret): (JsonOp, &[Oid], Oid) = match (base, args.len()) {
            // The functions behind jsonb's operators, callable by name.
            ("contains", 2) if b => (JsonOp::Contains, &[types::JSONB], types::BOOL),
            ("contained", 2) if b => (JsonOp::ContainedBy, &[types::JSONB], types::BOOL),
            ("exists", 2) if b => (JsonOp::Exists, &[types::TEXT], types::BOOL),
            ("exists_any", 2) if b => (JsonOp::ExistsAny, &[TEXT_ARRAY], types::BOOL),
            ("exists_all", 2) if b => (JsonOp::ExistsAll, &[TEXT_ARRAY], types::BOOL),
            ("concat", 2) if b => (JsonOp::Concat, &[types::JSONB], jt),
            ("delete", 2) if b && int_second => (JsonOp::DeleteIndex, &[types::INT4], jt),
            ("delete", 2) if b && args[1].ty.oid == TEXT_ARRAY => {
                (JsonOp::DeleteKeys, &[TEXT_ARRAY], jt)
            }
            ("delete", 2) if b => (JsonOp::DeleteKey, &[types::TEXT], jt),
            ("delete_path", 2) if b => (JsonOp::DeletePath, &[TEXT_ARRAY], jt),
            ("typeof", 1) => (JsonOp::Typeof, &[], types::TEXT),
            ("array_length", 1) => (JsonOp::ArrayLength, &[], types::INT4),
            ("strip_nulls", 1) => (JsonOp::StripNulls, &[], jt),
            ("pretty", 1) if b => (JsonOp::Pretty, &[], types::TEXT),
            ("set", 3) if b => (JsonOp::Set, &[TEXT_ARRAY, types::JSONB], jt),
            ("set", 4) if b => (JsonOp::Set, &[TEXT_ARRAY, types::JSONB, types::BOOL], jt),
            ("set_lax", 3) if b => (JsonOp::SetLax, &[TEXT_ARRAY, types::JSONB], jt),
            ("set_lax", 4) if b => (JsonOp::SetLax, &[TEXT_ARRAY, types::JSONB, types::BOOL], jt),
            ("set_lax", 5) if b => (
                JsonOp::SetLax,
                &[TEXT_ARRAY, types::JSONB, types::BOOL, types::TEXT],
                jt,
            ),
            ("insert", 3) if b => (JsonOp::Insert, &[TEXT_ARRAY, types::JSONB], jt),
            ("insert", 4) if b => (JsonOp::Insert, &[TEXT_ARRAY, types::JSONB, types::BOOL], jt),
            _ => return Ok(Err(args)),
        };
        let mut it = args.into_iter();
        let first = it.next().expect("one argument");
        let first = match self.json_want(first, jt)? {
            Ok(f) => f,
            Err(f) => {
                let mut all = vec![f];
                all.extend(it);
                return Err(no_function(name, &all));
            }
        };
        let mut bound = vec![first];
        for (a, &p) in it.zip(params.iter()) {
            match self.json_want(a, p)? {
                Ok(a) => bound.push(a),
                Err(a) if p == types::BOOL && a.ty.oid == types::BOOL => bound.push(a),
                Err(a) => return Err(no_function(name, &[a])),
            }
        }
        Ok(Ok(jnode(op, bound, ret)))
    }

    /// json(b)_each(_text), json(b)_array_elements(_text) and
    /// json(b)_object_keys in FROM; `Err(args)` for any other function.
    pub(super) fn json_set_function(
        &mut self,
        fname: &str,
        alias: Option<&ast::TableAlias>,
        args: Vec<Bound>,
    ) -> Result<Result<(Source, Scope), Vec<Bound>>, PgError> {
        let args = match self.json_record_source(fname, alias, args)? {
            Ok(r) => return Ok(Ok(r)),
            Err(a) => a,
        };
        let args = if matches!(fname, "jsonb_path_query" | "jsonb_path_query_tz") {
            let args = match self.path_args(fname, args)? {
                Ok(a) => a,
                Err(a) => return Ok(Err(a)),
            };
            let alias_name = alias
                .map(|a| ident_name(&a.name))
                .unwrap_or_else(|| fname.to_string());
            let mut cols = vec![(alias_name.clone(), Ty::new(types::JSONB))];
            super::rename_function_columns(alias, &alias_name, &mut cols)?;
            return Ok(Ok((
                Source::SetFunc {
                    op: crate::arrays::SrfOp::Json(JsonSrf::PathQuery, false),
                    args: args.into_iter().map(|b| b.e).collect(),
                },
                Scope::single(Some(alias_name), None, cols, 1),
            )));
        } else {
            args
        };
        let (json, base) = if let Some(r) = fname.strip_prefix("jsonb_") {
            (false, r)
        } else if let Some(r) = fname.strip_prefix("json_") {
            (true, r)
        } else {
            return Ok(Err(args));
        };
        let op = match base {
            "each" => JsonSrf::Each { text: false },
            "each_text" => JsonSrf::Each { text: true },
            "array_elements" => JsonSrf::Elements { text: false },
            "array_elements_text" => JsonSrf::Elements { text: true },
            "object_keys" => JsonSrf::ObjectKeys,
            _ => return Ok(Err(args)),
        };
        if args.len() != 1 {
            return Ok(Err(args));
        }
        let jt = if json { types::JSON } else { types::JSONB };
        let a = args.into_iter().next().expect("one argument");
        let a = match self.json_want(a, jt)? {
            Ok(a) => a,
            Err(a) => return Err(no_function(fname, &[a])),
        };
        let alias_name = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| fname.to_string());
        let mut cols: Vec<(String, Ty)> = crate::json::srf_columns(op, json)
            .into_iter()
            .map(|(n, t)| (n.to_string(), Ty::new(t)))
            .collect();
        if op == JsonSrf::ObjectKeys {
            cols[0].0 = fname.to_string();
            if alias.is_some() {
                cols[0].0 = alias_name.clone();
            }
        }
        super::rename_function_columns(alias, &alias_name, &mut cols)?;
        let width = cols.len();
        Ok(Ok((
            Source::SetFunc {
                op: crate::arrays::SrfOp::Json(op, json),
                args: vec![a.e],
            },
            Scope::single(Some(alias_name), None, cols, width),
        )))
    }

    /// json_agg, jsonb_agg, json_object_agg, jsonb_object_agg; `None`
    /// for any other name.
    pub(crate) fn json_aggregate(
        &mut self,
        name: &str,
        args: &[&ast::FunctionArg],
    ) -> Result<Option<Bound>, PgError> {
        let (b, object) = match name {
            "json_agg" => (false, false),
            "jsonb_agg" => (true, false),
            "json_object_agg" => (false, true),
            "jsonb_object_agg" => (true, true),
            _ => return Ok(None),
        };
        if self.aggs_allowed.is_none() {
            return Err(PgError::error(
                sqlstate::GROUPING_ERROR,
                "aggregate functions are not allowed here",
            ));
        }
        if self.in_agg {
            return Err(PgError::error(
                sqlstate::GROUPING_ERROR,
                "aggregate function calls cannot be nested",
            ));
        }
        let mut exprs = Vec::with_capacity(args.len());
        for a in args {
            match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => exprs.push(e),
                _ => return Err(not_supported(format!("these arguments of {name}()"))),
            }
        }
        if exprs.len() != if object { 2 } else { 1 } {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!(
                    "function {name} with {} arguments does not exist",
                    exprs.len()
                ),
            ));
        }
        self.in_agg = true;
        let mut bound = Vec::with_capacity(exprs.len());
        for e in exprs {
            match self.bind_expr(e) {
                Ok(x) => bound.push(x),
                Err(err) => {
                    self.in_agg = false;
                    return Err(err);
                }
            }
        }
        self.in_agg = false;
        let mut es = Vec::with_capacity(bound.len());
        for x in bound {
            let x = if x.is_unknown() {
                self.coerce(x, Ty::new(types::TEXT))?
            } else {
                x
            };
            es.push(x.e);
        }
        let arg = if object {
            Expr::Json(JsonOp::Pair, es)
        } else {
            es.pop().expect("one argument")
        };
        self.aggs
            .push(crate::plan::AggCall::Json { b, object, arg });
        Ok(Some(Bound::new(
            Expr::Column(self.agg_offset() + self.aggs.len() - 1),
            Ty::new(if b { types::JSONB } else { types::JSON }),
        )))
    }
}

/// A bound json-to-row call and its row type's columns.
type RecordCall = (Bound, Vec<(String, Ty)>);

/// json(b)_populate_record(set) / json(b)_to_record(set) by name: (json
/// argument is json, first argument is a base row, returns a set).
fn record_function(name: &str) -> Option<(bool, bool, bool)> {
    let (json, base) = if let Some(r) = name.strip_prefix("jsonb_") {
        (false, r)
    } else {
        (true, name.strip_prefix("json_")?)
    };
    Some(match base {
        "populate_record" => (json, true, false),
        "populate_recordset" => (json, true, true),
        "to_record" => (json, false, false),
        "to_recordset" => (json, false, true),
        _ => return None,
    })
}

impl Binder<'_> {
    /// A column definition list (`AS x(a int, b text)`): each column's name
    /// and type (a domain kept as itself); `None` without one.
    fn column_definitions(
        &mut self,
        alias: Option<&ast::TableAlias>,
    ) -> Result<Option<Vec<(String, Ty)>>, PgError> {
        let Some(al) = alias else { return Ok(None) };
        if !al.columns.iter().any(|c| c.data_type.is_some()) {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(al.columns.len());
        for c in &al.columns {
            let Some(dt) = &c.data_type else {
                return Err(syntax(format!(
                    "syntax error at or near \"{}\"",
                    ident_name(&c.name)
                )));
            };
            let ty = match crate::domain::coercion_target(dt) {
                Some(d) => Ty::new(d),
                None => data_type_to_ty(dt)?,
            };
            out.push((ident_name(&c.name), ty));
        }
        Ok(Some(out))
    }

    /// A json-to-row call bound: the expression (a row, or an array of
    /// rows for the set variants) and the row type's fields; `in_from`
    /// with the column definition list of a FROM item. `Err(args)` for
    /// any other function.
    pub(crate) fn json_record_call(
        &mut self,
        name: &str,
        args: Vec<Bound>,
        in_from: Option<Option<Vec<(String, Ty)>>>,
    ) -> Result<Result<RecordCall, Vec<Bound>>, PgError> {
        let Some((json, has_base, set)) = record_function(name) else {
            return Ok(Err(args));
        };
        let want = 1 + has_base as usize;
        // json_populate_record(set) also takes use_json_as_text (ignored
        // since PostgreSQL 9.4 but still accepted).
        let max = want + (has_base && json) as usize;
        if !(want..=max).contains(&args.len()) {
            return Ok(Err(args));
        }
        let jt = if json { types::JSON } else { types::JSONB };
        let mut it = args.into_iter();
        let base = if has_base {
            let b = it.next().expect("base argument");
            if b.is_unknown() {
                return Err(PgError::error(
                    sqlstate::INDETERMINATE_DATATYPE,
                    "could not determine polymorphic type because input has type unknown",
                ));
            }
            Some(b)
        } else {
            None
        };
        let j = it.next().expect("json argument");
        let j = match self.json_want(j, jt)? {
            Ok(j) => j,
            Err(j) => {
                let mut all: Vec<Bound> = base.into_iter().collect();
                all.push(j);
                all.extend(it);
                return Err(no_function(name, &all));
            }
        };
        if let Some(flag) = it.next() {
            if self.json_want(flag, types::BOOL)?.is_err() {
                return Err(no_function(name, &[]));
            }
        }
        let coldefs = in_from.clone().flatten();
        let base_ty = base.as_ref().map(|b| b.ty);
        let anonymous = base_ty.is_none_or(|t| t.oid == types::RECORD);
        if let (Some(_), Some(t)) = (&coldefs, base_ty) {
            if t.oid != types::RECORD {
                return Err(PgError::error(
                    sqlstate::SYNTAX_ERROR,
                    "a column definition list is redundant for a function returning a named composite type",
                ));
            }
        }
        if in_from.is_some() && coldefs.is_none() && anonymous {
            return Err(PgError::error(
                sqlstate::SYNTAX_ERROR,
                "a column definition list is required for functions returning \"record\"",
            ));
        }
        // The row type: the column definition list's, else the base row's.
        let undetermined = || {
            PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("could not determine row type for result of {name}"),
            )
            .with_hint("Provide a non-null record argument, or call the function in the FROM clause using a column definition list.")
        };
        let mut expect = None;
        let (row_ty, target) = match (&coldefs, base_ty) {
            (Some(cols), _) => {
                let fields = cols
                    .iter()
                    .map(|(n, t)| tusk_types::composite::Field {
                        name: n.clone(),
                        ty: *t,
                    })
                    .collect();
                let ty = tusk_types::composite::bless(fields);
                if base_ty.is_some() {
                    expect = Some(cols.iter().map(|(_, t)| *t).collect());
                }
                (ty, Target::build(self.host, ty, 0))
            }
            (None, Some(t)) if tusk_types::composite::fields(t).is_some() => {
                let mut target = Target::build(self.host, t, 0);
                // A domain over a row type: the base row is bound as a
                // coercion to the domain.
                if let (true, Some(Expr::Domain(_, c))) =
                    (target.is_ok(), base.as_ref().map(|b| &b.e))
                {
                    let inner = std::mem::replace(&mut target, Err(undetermined()))?;
                    target = Ok(Target::Domain {
                        ty: t,
                        base: Box::new(inner),
                        check: c.clone(),
                    });
                }
                (t, target)
            }
            (None, Some(t)) if t.oid == types::RECORD => (t, Err(undetermined())),
            (None, Some(t)) => (
                t,
                Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    format!("first argument of {name} must be a row type"),
                )),
            ),
            (None, None) => (Ty::new(types::RECORD), Err(undetermined())),
        };
        let fields: Vec<(String, Ty)> = tusk_types::composite::fields(row_ty)
            .unwrap_or_default()
            .into_iter()
            .map(|f| (f.name, f.ty))
            .collect();
        let call = crate::jsonrec::Call {
            name: name.to_string(),
            target,
            has_base,
            set,
            row_ty,
            expect,
        };
        let mut es: Vec<Expr> = base.into_iter().map(|b| b.e).collect();
        es.push(j.e);
        Ok(Ok((
            Bound::new(Expr::JsonRecord(std::rc::Rc::new(call), es), row_ty),
            fields,
        )))
    }

    /// json(b)_populate_record(set) / json(b)_to_record(set) in FROM: the
    /// row type's columns.
    fn json_record_source(
        &mut self,
        fname: &str,
        alias: Option<&ast::TableAlias>,
        args: Vec<Bound>,
    ) -> Result<Result<(Source, Scope), Vec<Bound>>, PgError> {
        let Some((json, _, set)) = record_function(fname) else {
            return Ok(Err(args));
        };
        let coldefs = self.column_definitions(alias)?;
        // Called in the select list: no column definition list possible.
        let in_from = (self.aggs_allowed != Some("select list")).then_some(coldefs);
        let (call, fields) = match self.json_record_call(fname, args, in_from)? {
            Ok(r) => r,
            Err(a) => return Ok(Err(a)),
        };
        let alias_name = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| fname.to_string());
        let mut cols: Vec<(String, Ty)> = fields
            .into_iter()
            .map(|(n, t)| {
                // A domain column reads as its base type, as tusk's
                // domain values are.
                let t = match tusk_types::usertype::domain_base(t.oid) {
                    Some((b, m)) => Ty::with_mod(b, m),
                    None => t,
                };
                (n, t)
            })
            .collect();
        super::rename_function_columns(alias, &alias_name, &mut cols)?;
        let width = cols.len();
        Ok(Ok((
            Source::SetFunc {
                op: crate::arrays::SrfOp::Json(JsonSrf::Records { width, set }, json),
                args: vec![call.e],
            },
            Scope::single(Some(alias_name), None, cols, width),
        )))
    }
}

impl Binder<'_> {
    /// `json(b)_build_object(VARIADIC arr)` / `json(b)_build_array(VARIADIC
    /// arr)`: the array's elements as the arguments; `None` for any other
    /// function.
    pub(crate) fn json_spread(
        &mut self,
        name: &str,
        args: Vec<Bound>,
        array_expr: &ast::Expr,
    ) -> Result<Option<Bound>, PgError> {
        let (b, object) = match name {
            "json_build_object" => (false, true),
            "jsonb_build_object" => (true, true),
            "json_build_array" => (false, false),
            "jsonb_build_array" => (true, false),
            _ => return Ok(None),
        };
        if args.len() != 1 {
            return Ok(None);
        }
        let a = args.into_iter().next().expect("one argument");
        if tusk_types::array::elem_type(a.ty.oid).is_none() {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                "VARIADIC argument must be an array",
            )
            .with_position(self.expr_at(array_expr)));
        }
        let jt = if b { types::JSONB } else { types::JSON };
        Ok(Some(jnode(JsonOp::Spread { b, object }, vec![a], jt)))
    }
}

impl Binder<'_> {
    /// to_tsvector([config,] json|jsonb) and json(b)_to_tsvector([config,]
    /// doc, filter): `Err(args)` for any other call.
    pub(crate) fn json_ts_function(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        let (jt, filtered) = match name {
            // `tsquery('...')`: the type name called as a function is a
            // cast (json's ts_headline tests spell the query so).
            "tsquery" if args.len() == 1 => {
                let a = args.into_iter().next().expect("one argument");
                return Ok(Ok(self.explicit_cast(a, Ty::new(3615))?));
            }
            "ts_headline" => {
                let pos = match args.iter().position(|a| is_json(a.ty.oid)) {
                    Some(p) if p <= 1 => p,
                    _ => return Ok(Err(args)),
                };
                let jt = args[pos].ty.oid;
                let mut args = args;
                // Bound as the text form, then the document put back.
                let doc = std::mem::replace(
                    &mut args[pos],
                    Bound::new(
                        Expr::Const(Value::Text(String::new())),
                        Ty::new(types::TEXT),
                    ),
                );
                return Ok(match self.ts_function(name, args)? {
                    Ok(b) => match b.e {
                        Expr::Func(
                            crate::func::Func::Ts(crate::tsearch::TsFn::Headline),
                            mut es,
                        ) if es.len() == 4 => {
                            es[1] = doc.e;
                            Ok(Bound::new(
                                Expr::Func(
                                    crate::func::Func::Ts(crate::tsearch::TsFn::JsonHeadline),
                                    es,
                                ),
                                Ty::new(jt),
                            ))
                        }
                        e => Ok(Bound::new(e, b.ty)),
                    },
                    Err(mut a) => {
                        a[pos] = doc;
                        Err(a)
                    }
                });
            }
            "to_tsvector" => match args.last().map(|a| a.ty.oid) {
                Some(t) if is_json(t) => (t, false),
                _ => return Ok(Err(args)),
            },
            "json_to_tsvector" => (types::JSON, true),
            "jsonb_to_tsvector" => (types::JSONB, true),
            _ => return Ok(Err(args)),
        };
        let n = args.len();
        let with_cfg = n == if filtered { 3 } else { 2 };
        if !with_cfg && n != if filtered { 2 } else { 1 } {
            return Ok(Err(args));
        }
        let mut out = Vec::with_capacity(3);
        let mut it = args.into_iter();
        if with_cfg {
            let c = it.next().expect("config");
            match self.json_want(c, types::TEXT)? {
                Ok(c) => out.push(c),
                Err(c) if c.ty.oid == 3734 => {
                    out.push(self.explicit_cast(c, Ty::new(types::TEXT))?)
                }
                Err(c) => {
                    let mut all = vec![c];
                    all.extend(it);
                    return Err(no_function(name, &all));
                }
            }
        } else {
            // Empty: default_text_search_config when evaluated.
            out.push(Bound::new(
                Expr::Const(Value::Text(String::new())),
                Ty::new(types::TEXT),
            ));
        }
        let rest: Vec<Bound> = it.collect();
        let mut rest_it = rest.into_iter();
        let doc = rest_it.next().expect("document");
        let doc = match self.json_want(doc, jt)? {
            Ok(d) => d,
            Err(d) => {
                let mut all: Vec<Bound> = out.into_iter().skip(usize::from(!with_cfg)).collect();
                all.push(d);
                all.extend(rest_it);
                return Err(no_function(name, &all));
            }
        };
        out.push(doc);
        let filter = match rest_it.next() {
            Some(f) => match self.json_want(f, types::JSONB)? {
                Ok(f) => f,
                Err(f) => return Err(no_function(name, &[f])),
            },
            None => Bound::new(
                Expr::Const(Value::Jsonb(Box::new(tusk_types::json::Jsonb::String(
                    "string".into(),
                )))),
                Ty::new(types::JSONB),
            ),
        };
        out.push(filter);
        Ok(Ok(Bound::new(
            Expr::Func(
                crate::func::Func::Ts(crate::tsearch::TsFn::JsonToTsvector),
                out.into_iter().map(|b| b.e).collect(),
            ),
            Ty::new(3614),
        )))
    }
}
