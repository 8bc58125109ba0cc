//! Binding array and pattern-matching syntax: ARRAY[...], ARRAY(subquery),
//! subscripts and slices, `op ANY/ALL (array)`, `||` on arrays, `@>` `<@`
//! `&&`, the `~` family, SIMILAR TO, and the polymorphic array functions
//! (anyarray/anyelement resolved as PostgreSQL's
//! enforce_generic_type_consistency does) into `Expr::Array` nodes
//! (crates/sql/src/arrays.rs evaluates them).
//!
//! Why a child of the binder: it needs the binder's private coercion and
//! sub-query machinery, but keeping it in its own file leaves the hooks in
//! bind.rs to one call each.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::arrays::{ArrOp, Sub};
use crate::pattern::PatOp;
use crate::types::array as tarr;

/// A polymorphic argument kind of an array function's signature.
#[derive(Clone, Copy, PartialEq, Eq)]
enum P {
    Arr,
    Elem,
    Int,
    Text,
}

/// The result of an array function.
#[derive(Clone, Copy, PartialEq, Eq)]
enum R {
    Arr,
    Fixed(Oid),
}

/// Array functions: name, arguments, result, operation.
const ARRAY_FUNCS: &[(&str, &[P], R, ArrOp)] = &[
    (
        "array_length",
        &[P::Arr, P::Int],
        R::Fixed(types::INT4),
        ArrOp::Length,
    ),
    (
        "array_lower",
        &[P::Arr, P::Int],
        R::Fixed(types::INT4),
        ArrOp::Lower,
    ),
    (
        "array_upper",
        &[P::Arr, P::Int],
        R::Fixed(types::INT4),
        ArrOp::Upper,
    ),
    (
        "array_ndims",
        &[P::Arr],
        R::Fixed(types::INT4),
        ArrOp::Ndims,
    ),
    ("array_dims", &[P::Arr], R::Fixed(types::TEXT), ArrOp::Dims),
    (
        "cardinality",
        &[P::Arr],
        R::Fixed(types::INT4),
        ArrOp::Cardinality,
    ),
    ("array_append", &[P::Arr, P::Elem], R::Arr, ArrOp::Append),
    ("array_prepend", &[P::Elem, P::Arr], R::Arr, ArrOp::Prepend),
    ("array_cat", &[P::Arr, P::Arr], R::Arr, ArrOp::Cat),
    (
        "array_larger",
        &[P::Arr, P::Arr],
        R::Arr,
        ArrOp::Larger(true),
    ),
    (
        "array_smaller",
        &[P::Arr, P::Arr],
        R::Arr,
        ArrOp::Larger(false),
    ),
    (
        "array_position",
        &[P::Arr, P::Elem],
        R::Fixed(types::INT4),
        ArrOp::Position,
    ),
    (
        "array_position",
        &[P::Arr, P::Elem, P::Int],
        R::Fixed(types::INT4),
        ArrOp::PositionFrom,
    ),
    (
        "array_positions",
        &[P::Arr, P::Elem],
        R::Fixed(1007),
        ArrOp::Positions,
    ),
    ("array_remove", &[P::Arr, P::Elem], R::Arr, ArrOp::Remove),
    (
        "array_replace",
        &[P::Arr, P::Elem, P::Elem],
        R::Arr,
        ArrOp::Replace,
    ),
    (
        "array_to_string",
        &[P::Arr, P::Text],
        R::Fixed(types::TEXT),
        ArrOp::ToString,
    ),
    (
        "array_to_string",
        &[P::Arr, P::Text, P::Text],
        R::Fixed(types::TEXT),
        ArrOp::ToStringNull,
    ),
];

/// Text functions returning or scanning arrays and patterns.
const TEXT_FUNCS: &[(&str, usize, Oid, ArrOp)] = &[
    ("string_to_array", 2, 1009, ArrOp::StringToArray),
    ("string_to_array", 3, 1009, ArrOp::StringToArrayNull),
    ("regexp_match", 2, 1009, ArrOp::Pattern(PatOp::RegexpMatch)),
    ("regexp_match", 3, 1009, ArrOp::Pattern(PatOp::RegexpMatch)),
    (
        "regexp_replace",
        3,
        types::TEXT,
        ArrOp::Pattern(PatOp::RegexpReplace),
    ),
    (
        "regexp_replace",
        4,
        types::TEXT,
        ArrOp::Pattern(PatOp::RegexpReplace),
    ),
    (
        "regexp_split_to_array",
        2,
        1009,
        ArrOp::Pattern(PatOp::RegexpSplit),
    ),
    (
        "regexp_split_to_array",
        3,
        1009,
        ArrOp::Pattern(PatOp::RegexpSplit),
    ),
    (
        "regexp_like",
        2,
        types::BOOL,
        ArrOp::Pattern(PatOp::RegexpLike),
    ),
    (
        "regexp_like",
        3,
        types::BOOL,
        ArrOp::Pattern(PatOp::RegexpLike),
    ),
    (
        "regexp_count",
        2,
        types::INT4,
        ArrOp::Pattern(PatOp::RegexpCount),
    ),
];

fn cmp_op(op: &BinaryOperator) -> Option<CmpOp> {
    Some(match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::Ne,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::Le,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::Ge,
        _ => return None,
    })
}

fn node(op: ArrOp, args: Vec<Bound>, ty: Ty) -> Bound {
    Bound::new(Expr::Array(op, args.into_iter().map(|b| b.e).collect()), ty)
}

fn no_polymorphic(name: &str) -> PgError {
    PgError::error(
        sqlstate::DATATYPE_MISMATCH,
        "could not determine polymorphic type because input has type unknown".to_string(),
    )
    .with_context(format!("{name}()"))
}

impl Binder<'_> {
    /// Array and pattern syntax; `None` leaves `e` to the general binder.
    pub(crate) fn bind_array_expr(&mut self, e: &ast::Expr) -> Result<Option<Bound>, PgError> {
        use ast::Expr as E;
        Ok(Some(match e {
            E::Array(a) => self.array_constructor(a, None)?,
            E::Cast {
                expr, data_type, ..
            } if matches!(expr.as_ref(), E::Array(_)) => {
                let target = data_type_to_ty(data_type)?;
                let E::Array(a) = expr.as_ref() else {
                    unreachable!("matched above")
                };
                let hint = tarr::elem_type(target.oid).map(|el| Ty::with_mod(el, target.typmod));
                let b = self.array_constructor(a, hint)?;
                let b = self.explicit_cast(b, target)?;
                self.coerce_to_domain(b, data_type)?
            }
            E::CompoundFieldAccess { root, access_chain } => self.subscripts(root, access_chain)?,
            E::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | E::AllOp {
                left,
                compare_op,
                right,
            } if !matches!(right.as_ref(), E::Subquery(_)) => {
                let all = matches!(e, E::AllOp { .. });
                self.any_all(left, compare_op, right, all)?
            }
            E::Collate { expr, collation } => {
                // tusk compares strings bytewise, which is what the C and
                // default collations give for psql's catalog queries
                // (`relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE
                // pg_catalog.default`); other collations are refused.
                let parts = object_name_parts(collation)?;
                let name = parts.last().map(String::as_str).unwrap_or("");
                if !matches!(name, "default" | "C" | "POSIX" | "ucs_basic") {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!(
                            "collation \"{}\" for encoding \"UTF8\" does not exist",
                            parts.join(".")
                        ),
                    )
                    .with_position(self.collate_pos(expr)));
                }
                self.bind_expr(expr)?
            }
            E::BinaryOp {
                left,
                op: BinaryOperator::PGCustomBinaryOperator(parts),
                right,
            } if parts.len() == 2
                && parts[0] == "pg_catalog"
                && matches!(parts[1].as_str(), "~" | "~*" | "!~" | "!~*") =>
            {
                let ci = parts[1].contains('*');
                let negated = parts[1].starts_with('!');
                let l = self.bind_expr(left)?;
                let r = self.bind_expr(right)?;
                // name ~ text is an operator of its own (nameregexeq).
                let l = if l.ty.oid == types::NAME {
                    l
                } else {
                    self.coerce(l, Ty::new(types::TEXT))?
                };
                let r = self.coerce(r, Ty::new(types::TEXT))?;
                node(
                    ArrOp::Pattern(PatOp::Match { ci, negated }),
                    vec![l, r],
                    Ty::new(types::BOOL),
                )
            }
            E::BinaryOp { left, op, right } => {
                use BinaryOperator as B;
                let (op, ci, negated) = match op {
                    B::PGRegexMatch => (None, false, false),
                    B::PGRegexIMatch => (None, true, false),
                    B::PGRegexNotMatch => (None, false, true),
                    B::PGRegexNotIMatch => (None, true, true),
                    B::AtArrow => (Some(ArrOp::Contains), false, false),
                    B::ArrowAt => (Some(ArrOp::ContainedBy), false, false),
                    B::PGOverlap => (Some(ArrOp::Overlap), false, false),
                    _ => return Ok(None),
                };
                match op {
                    None => {
                        let l = self.bind_expr(left)?;
                        let r = self.bind_expr(right)?;
                        // name ~ text is an operator of its own (nameregexeq).
                        let l = if l.ty.oid == types::NAME {
                            l
                        } else {
                            self.coerce(l, Ty::new(types::TEXT))?
                        };
                        let r = self.coerce(r, Ty::new(types::TEXT))?;
                        node(
                            ArrOp::Pattern(PatOp::Match { ci, negated }),
                            vec![l, r],
                            Ty::new(types::BOOL),
                        )
                    }
                    Some(op) => {
                        let sym = match op {
                            ArrOp::Contains => "@>",
                            ArrOp::ContainedBy => "<@",
                            _ => "&&",
                        };
                        let l = self.bind_expr(left)?;
                        let r = self.bind_expr(right)?;
                        let (l, r) = match self.geo_binary(sym, l, r)? {
                            Ok(b) => return Ok(Some(b)),
                            Err(lr) => lr,
                        };
                        self.array_containment(op, l, r, sym)?
                    }
                }
            }
            E::SimilarTo {
                negated,
                expr,
                pattern,
                escape_char,
            } => {
                let l = self.bind_expr(expr)?;
                let r = self.bind_expr(pattern)?;
                let mut args = vec![
                    self.coerce(l, Ty::new(types::TEXT))?,
                    self.coerce(r, Ty::new(types::TEXT))?,
                ];
                if let Some(esc) = escape_char {
                    let b = self.bind_expr(esc)?;
                    args.push(self.coerce(b, Ty::new(types::TEXT))?);
                }
                // A constant pattern is translated now, as PostgreSQL's
                // planner folds similar_to_escape: `x ~ '^(?:...)$'`.
                let esc = match args.get(2).map(|a| &a.e) {
                    None => Some(Some('\\')),
                    Some(Expr::Const(Value::Text(e))) => {
                        let mut cs = e.chars();
                        match (cs.next(), cs.next()) {
                            (None, _) => Some(None),
                            (Some(c), None) => Some(Some(c)),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if let (Some(esc), Expr::Const(Value::Text(p))) = (esc, &args[1].e) {
                    let re = crate::pattern::similar_to_regex(p, esc)?;
                    args.truncate(1);
                    args.push(Bound::new(
                        Expr::Const(Value::Text(re)),
                        Ty::new(types::TEXT),
                    ));
                    return Ok(Some(node(
                        ArrOp::Pattern(PatOp::Match {
                            ci: false,
                            negated: *negated,
                        }),
                        args,
                        Ty::new(types::BOOL),
                    )));
                }
                node(
                    ArrOp::Pattern(PatOp::Similar { negated: *negated }),
                    args,
                    Ty::new(types::BOOL),
                )
            }
            E::Function(f) => {
                let is_array = matches!(f.name.0.as_slice(), [ast::ObjectNamePart::Identifier(i)] if i.value.eq_ignore_ascii_case("array"));
                match (&f.args, is_array) {
                    (ast::FunctionArguments::Subquery(q), true) => self.array_subquery(q)?,
                    _ => return Ok(None),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// `ARRAY(SELECT x ...)`: the column's values as an array.
    fn array_subquery(&mut self, q: &ast::Query) -> Result<Bound, PgError> {
        let b = self.sublink(q, SubUse::Scalar)?;
        let Expr::SubLink(mut s) = b.e else {
            return Err(not_supported("ARRAY(subquery)"));
        };
        let elem = if b.ty.oid == types::UNKNOWN {
            types::TEXT
        } else {
            b.ty.oid
        };
        let arr = array_type_of(elem)?;
        s.kind = SubLinkKind::Array(elem);
        Ok(Bound::new(Expr::SubLink(s), Ty::with_mod(arr, b.ty.typmod)))
    }

    /// ARRAY[...] (and the bare `[...]` rows of a multi-dimensional one);
    /// `hint` is the element type a cast around it asks for.
    fn array_constructor(&mut self, a: &ast::Array, hint: Option<Ty>) -> Result<Bound, PgError> {
        let mut items = Vec::with_capacity(a.elem.len());
        for e in &a.elem {
            items.push(match e {
                ast::Expr::Array(inner) => self.array_constructor(inner, hint)?,
                e => self.bind_expr(e)?,
            });
        }
        if items.is_empty() {
            return match hint {
                Some(h) => {
                    let arr = tarr::array_type(h.oid).unwrap_or(1009);
                    Ok(Bound::new(
                        Expr::Const(Value::Array(Box::new(tarr::Array::from_items(
                            h.oid,
                            Vec::new(),
                        )))),
                        Ty::new(arr),
                    ))
                }
                None => Err(PgError::error(
                    sqlstate::INDETERMINATE_DATATYPE,
                    "cannot determine type of empty array",
                )
                .with_hint("Explicitly cast to the desired type, for example ARRAY[]::integer[].")),
            };
        }
        let nested = items.iter().any(|b| tarr::is_array(b.ty.oid));
        let items = if !nested && items.iter().all(|b| b.is_unknown()) && hint.is_some() {
            let h = hint.unwrap_or(Ty::new(types::TEXT));
            let mut out = Vec::new();
            for b in items {
                out.push(self.coerce(b, Ty::new(h.oid))?);
            }
            out
        } else {
            self.unify(items, "ARRAY")?
        };
        let ty = items.first().map(|b| b.ty.oid).unwrap_or(types::TEXT);
        let (elem, arr) = if nested {
            (tarr::elem_type(ty).unwrap_or(types::TEXT), ty)
        } else {
            let arr = array_type_of(ty)?;
            (ty, arr)
        };
        Ok(node(ArrOp::Construct { elem, nested }, items, Ty::new(arr)))
    }

    fn subscripts(
        &mut self,
        root: &ast::Expr,
        chain: &[ast::AccessExpr],
    ) -> Result<Bound, PgError> {
        // `t.col[1]` parses as `t` with `.col` in the chain: the leading
        // field names make the column reference.
        let dots = chain
            .iter()
            .take_while(|a| matches!(a, ast::AccessExpr::Dot(ast::Expr::Identifier(_))))
            .count();
        let mut base = match root {
            ast::Expr::Identifier(first) if dots > 0 => {
                let mut parts = vec![first.clone()];
                for a in &chain[..dots] {
                    if let ast::AccessExpr::Dot(ast::Expr::Identifier(i)) = a {
                        parts.push(i.clone());
                    }
                }
                self.bind_expr(&ast::Expr::CompoundIdentifier(parts))?
            }
            _ => self.bind_expr(root)?,
        };
        let chain = if matches!(root, ast::Expr::Identifier(_)) {
            &chain[dots..]
        } else {
            chain
        };
        // `(x).f.g`: field selection while the value is a row.
        let mut chain = chain;
        while let Some(ast::AccessExpr::Dot(ast::Expr::Identifier(f))) = chain.first() {
            if !tusk_types::composite::is_row(base.ty.oid) {
                break;
            }
            base = self.field_select(base, &ident_name(f)).map_err(|e| {
                if e.position.is_none() {
                    let p = self.expr_at(root);
                    e.with_position(p)
                } else {
                    e
                }
            })?;
            chain = &chain[1..];
        }
        if chain.is_empty() {
            return Ok(base);
        }
        if tusk_types::geo::is_geo(base.ty.oid) {
            return self.geo_subscript(base, chain);
        }
        // int2vector (pg_index.indkey) subscripts as the int2[] it casts to.
        if base.ty.oid == 22 {
            base = self.coerce(base, Ty::new(1005))?;
        }
        if base.ty.oid == types::JSONB {
            return self.jsonb_subscripts(base, chain);
        }
        let Some(elem) = tarr::elem_type(base.ty.oid) else {
            return Err(PgError::error(
                sqlstate::DATATYPE_MISMATCH,
                format!(
                    "cannot subscript type {} because it does not support subscripting",
                    types::sql_name(base.ty.oid)
                ),
            ));
        };
        let arr_ty = base.ty;
        let mut args = vec![base];
        let mut subs = Vec::new();
        let int = |b: &mut Self, e: &ast::Expr| -> Result<Bound, PgError> {
            let x = b.bind_expr(e)?;
            if !x.is_unknown() && !matches!(x.ty.oid, types::INT2 | types::INT4 | types::INT8) {
                return Err(PgError::error(
                    sqlstate::DATATYPE_MISMATCH,
                    "array subscript must have type integer",
                ));
            }
            b.coerce(x, Ty::new(types::INT4))
        };
        for a in chain {
            match a {
                ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                    args.push(int(self, index)?);
                    subs.push(Sub::Index);
                }
                ast::AccessExpr::Subscript(ast::Subscript::Slice {
                    lower_bound,
                    upper_bound,
                    stride,
                }) => {
                    if stride.is_some() {
                        return Err(syntax("syntax error at or near \":\""));
                    }
                    if let Some(l) = lower_bound {
                        args.push(int(self, l)?);
                    }
                    if let Some(u) = upper_bound {
                        args.push(int(self, u)?);
                    }
                    subs.push(Sub::Slice {
                        lower: lower_bound.is_some(),
                        upper: upper_bound.is_some(),
                    });
                }
                ast::AccessExpr::Dot(_) => return Err(not_supported("field selection")),
            }
        }
        let slice = subs.iter().any(|s| matches!(s, Sub::Slice { .. }));
        let ty = if slice {
            arr_ty
        } else {
            Ty::with_mod(elem, arr_ty.typmod)
        };
        Ok(node(ArrOp::Subscript(subs), args, ty))
    }

    fn any_all(
        &mut self,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
        all: bool,
    ) -> Result<Bound, PgError> {
        let l = self.bind_expr(left)?;
        let r = self.bind_expr(right)?;
        let Some(cop) = cmp_op(op) else {
            return Err(not_supported(format!("operator {op} with ANY/ALL")));
        };
        let r = if r.is_unknown() {
            let elem = if l.is_unknown() {
                types::TEXT
            } else {
                l.ty.oid
            };
            let arr = tarr::array_type(elem).unwrap_or(1009);
            self.coerce(r, Ty::new(arr))?
        } else {
            r
        };
        let Some(elem) = tarr::elem_type(r.ty.oid) else {
            return Err(PgError::error(
                tusk_common::SqlState::new("42809"),
                "op ANY/ALL (array) requires array on right side".to_string(),
            ));
        };
        // Resolve the comparison as `l op elem`, then bring the array to
        // the element type chosen.
        let (l, placeholder) = self.compare_bound(
            l,
            Bound::new(Expr::Const(Value::Null), Ty::new(elem)),
            cop.symbol(),
        )?;
        let r = if placeholder.ty.oid != elem {
            let to = tarr::array_type(placeholder.ty.oid).unwrap_or(r.ty.oid);
            Bound::new(
                Expr::Cast {
                    arg: Box::new(r.e),
                    from: r.ty.oid,
                    to: Ty::new(to),
                },
                Ty::new(to),
            )
        } else {
            r
        };
        Ok(node(
            ArrOp::AnyAll { op: cop, all },
            vec![l, r],
            Ty::new(types::BOOL),
        ))
    }

    /// Two operands of one array type (an unknown literal takes the
    /// other's type).
    fn two_arrays(&mut self, l: Bound, r: Bound, sym: &str) -> Result<(Bound, Bound), PgError> {
        let (l, r) = match (l.is_unknown(), r.is_unknown()) {
            (true, false) => (self.coerce(l, r.ty)?, r),
            (false, true) => {
                let t = l.ty;
                (l, self.coerce(r, t)?)
            }
            _ => (l, r),
        };
        if !tarr::is_array(l.ty.oid) || !tarr::is_array(r.ty.oid) {
            return Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid));
        }
        if l.ty.oid != r.ty.oid {
            let t = Ty::new(
                common_type(&[l.ty.oid, r.ty.oid], "ARRAY")
                    .map_err(|_| op_not_exist(sym, Some(l.ty.oid), r.ty.oid))?,
            );
            let l = self.coerce(l, t)?;
            let r = self.coerce(r, t)?;
            return Ok((l, r));
        }
        Ok((l, r))
    }

    /// `a @> b` / `a <@ b` over arrays, their operands already bound
    /// (bind/json.rs binds them first to tell jsonb from arrays).
    pub(crate) fn array_containment(
        &mut self,
        op: ArrOp,
        l: Bound,
        r: Bound,
        sym: &str,
    ) -> Result<Bound, PgError> {
        let (l, r) = match self.range_operator(sym, l, r)? {
            Ok(b) => return Ok(b),
            Err(lr) => lr,
        };
        let (l, r) = self.two_arrays(l, r, sym)?;
        Ok(node(op, vec![l, r], Ty::new(types::BOOL)))
    }

    /// `||` when either side is an array: array_cat, array_append or
    /// array_prepend. `None` when neither is.
    pub(crate) fn array_concat(
        &mut self,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        let (la, ra) = (tarr::is_array(l.ty.oid), tarr::is_array(r.ty.oid));
        if !la && !ra {
            return Ok(Err((l, r)));
        }
        if la && ra {
            let (l, r) = self.two_arrays(l, r, "||")?;
            let ty = l.ty;
            return Ok(Ok(node(ArrOp::Cat, vec![l, r], ty)));
        }
        let (arr, other, append) = if la { (l, r, true) } else { (r, l, false) };
        let elem = tarr::elem_type(arr.ty.oid).unwrap_or(types::TEXT);
        let ty = arr.ty;
        if other.is_unknown() {
            // An untyped literal next to an array is read as an array.
            let other = self.coerce(other, ty)?;
            let args = if append {
                vec![arr, other]
            } else {
                vec![other, arr]
            };
            return Ok(Ok(node(ArrOp::Cat, args, ty)));
        }
        let other = self.coerce(other, Ty::new(elem))?;
        Ok(Ok(if append {
            node(ArrOp::Append, vec![arr, other], ty)
        } else {
            node(ArrOp::Prepend, vec![other, arr], ty)
        }))
    }

    /// unnest, generate_subscripts, regexp_split_to_table and
    /// regexp_matches in FROM; `Err(args)` for any other function.
    pub(super) fn array_set_function(
        &mut self,
        fname: &str,
        alias: Option<&ast::TableAlias>,
        args: Vec<Bound>,
    ) -> Result<Result<(Source, Scope), Vec<Bound>>, PgError> {
        use crate::arrays::SrfOp;
        if fname == "pg_listening_channels" && args.is_empty() {
            // The session's channels, as unnest of a text[] the host gives.
            let list = Bound::new(
                Expr::Func(crate::func::Func::ListeningChannels, Vec::new()),
                Ty::new(1009),
            );
            return self
                .array_set_function("unnest", None, vec![list])
                .map(|r| {
                    r.map(|(src, _)| {
                        let name = alias
                            .map(|a| ident_name(&a.name))
                            .unwrap_or_else(|| fname.to_string());
                        let col = alias
                            .and_then(|a| a.columns.first())
                            .map(|c| ident_name(&c.name))
                            .unwrap_or_else(|| name.clone());
                        (
                            src,
                            Scope::single(Some(name), None, vec![(col, Ty::new(types::TEXT))], 1),
                        )
                    })
                });
        }
        let args = match self.ts_set_function(fname, alias, args)? {
            Ok(r) => return Ok(Ok(r)),
            Err(args) => args,
        };
        let (op, specs): (SrfOp, &[P]) = match (fname, args.len()) {
            ("unnest", 1) => (SrfOp::Unnest, &[P::Arr]),
            ("generate_subscripts", 2) => (SrfOp::Subscripts, &[P::Arr, P::Int]),
            ("generate_subscripts", 3) => (SrfOp::Subscripts, &[P::Arr, P::Int, P::Elem]),
            ("regexp_split_to_table", 2 | 3) => (SrfOp::SplitToTable, &[P::Text, P::Text, P::Text]),
            ("regexp_matches", 2 | 3) => (SrfOp::Matches, &[P::Text, P::Text, P::Text]),
            _ => return Ok(Err(args)),
        };
        let mut bound = Vec::with_capacity(args.len());
        let mut col_ty = Ty::new(types::INT4);
        for (a, p) in args.into_iter().zip(specs.iter()) {
            let b = match p {
                P::Arr => {
                    if a.is_unknown() {
                        return Err(no_polymorphic(fname));
                    }
                    // unnest(multirange): its ranges (ranges.rs).
                    let multi = tusk_types::range::multirange_type(a.ty.oid)
                        .filter(|_| op == SrfOp::Unnest)
                        .map(|rt| rt.oid);
                    let Some(elem) = tarr::elem_type(a.ty.oid).or(multi) else {
                        let shown = types::sql_name(a.ty.oid);
                        return Err(PgError::error(
                            sqlstate::UNDEFINED_FUNCTION,
                            format!("function {fname}({shown}) does not exist"),
                        )
                        .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."));
                    };
                    col_ty = Ty::with_mod(elem, a.ty.typmod);
                    a
                }
                P::Int => self.coerce(a, Ty::new(types::INT4))?,
                P::Elem => self.coerce(a, Ty::new(types::BOOL))?,
                P::Text => self.coerce(a, Ty::new(types::TEXT))?,
            };
            bound.push(b.e);
        }
        let col_ty = match op {
            SrfOp::Unnest => col_ty,
            SrfOp::Subscripts => Ty::new(types::INT4),
            SrfOp::SplitToTable => Ty::new(types::TEXT),
            SrfOp::Matches => Ty::new(1009),
            SrfOp::Json(..)
            | SrfOp::Partitions(_)
            | SrfOp::Series(_)
            | SrfOp::Ts(..)
            | SrfOp::Options => Ty::new(types::TEXT),
        };
        Ok(Ok((
            Source::SetFunc { op, args: bound },
            super::one_column_scope(fname, alias, col_ty)?,
        )))
    }

    /// The array, regexp and string_to_array functions; `Err(args)` gives
    /// the arguments back when `name` is none of them.
    pub(crate) fn array_function(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        if let Some((_, _, ret, op)) = TEXT_FUNCS
            .iter()
            .find(|(n, k, _, _)| *n == name && *k == args.len())
            // regexp_replace(s, p, r, start): strfuncs.rs's.
            .filter(|_| {
                name != "regexp_replace"
                    || args.len() != 4
                    || args[3].is_unknown()
                    || is_stringish(args[3].ty.oid)
            })
        {
            let mut bound = Vec::with_capacity(args.len());
            for a in args {
                bound.push(self.coerce(a, Ty::new(types::TEXT))?);
            }
            return Ok(Ok(node(op.clone(), bound, Ty::new(*ret))));
        }
        if name == "pg_typeof" && args.len() == 1 {
            // regtype's output is format_type's name; tusk has no regtype
            // yet, so the name is given as text.
            let t = args[0].ty.oid;
            // A value just coerced to a domain has the domain's type
            // (the binder's types are base types otherwise).
            let shown = if let Expr::Domain(_, c) = &args[0].e {
                c.type_name()
            } else if t == types::UNKNOWN {
                "unknown".to_string()
            } else {
                types::sql_name(t)
            };
            return Ok(Ok(Bound::new(
                Expr::Const(Value::Text(shown)),
                Ty::new(types::TEXT),
            )));
        }
        if name == "substring"
            && args.len() == 2
            && (args[1].is_unknown() || is_stringish(args[1].ty.oid))
        {
            let mut bound = Vec::with_capacity(2);
            for a in args {
                bound.push(self.coerce(a, Ty::new(types::TEXT))?);
            }
            return Ok(Ok(node(
                ArrOp::Pattern(PatOp::Substring),
                bound,
                Ty::new(types::TEXT),
            )));
        }
        if name == "substring"
            && args.len() == 3
            && args[1..]
                .iter()
                .all(|a| a.is_unknown() || is_stringish(a.ty.oid))
        {
            let mut bound = Vec::with_capacity(3);
            for a in args {
                bound.push(self.coerce(a, Ty::new(types::TEXT))?);
            }
            return Ok(Ok(node(
                ArrOp::Pattern(PatOp::SubstringSimilar),
                bound,
                Ty::new(types::TEXT),
            )));
        }
        let Some((_, spec, ret, op)) = ARRAY_FUNCS
            .iter()
            .find(|(n, s, _, _)| *n == name && s.len() == args.len())
        else {
            return Ok(Err(args));
        };
        // The element type: from the first typed array argument, else
        // from the first typed element argument.
        let mut elem: Option<Oid> = None;
        for (a, p) in args.iter().zip(spec.iter()) {
            if a.is_unknown() {
                continue;
            }
            match p {
                P::Arr => {
                    let Some(e) = tarr::elem_type(a.ty.oid) else {
                        return Ok(Err(args));
                    };
                    elem.get_or_insert(e);
                }
                P::Elem => {
                    elem.get_or_insert(a.ty.oid);
                }
                _ => {}
            }
        }
        let Some(elem) = elem else {
            return Err(no_polymorphic(name));
        };
        let arr = array_type_of(elem)?;
        let mut bound = Vec::with_capacity(args.len());
        for (a, p) in args.into_iter().zip(spec.iter()) {
            let t = match p {
                P::Arr => Ty::new(arr),
                P::Elem => Ty::new(elem),
                P::Int => Ty::new(types::INT4),
                P::Text => Ty::new(types::TEXT),
            };
            bound.push(self.coerce(a, t)?);
        }
        let ty = match ret {
            R::Arr => Ty::new(arr),
            R::Fixed(o) => Ty::new(*o),
        };
        Ok(Ok(node(op.clone(), bound, ty)))
    }
}

/// The array type of element type `elem`; 42704 as PostgreSQL's when
/// there is none (a pseudo-type, an array of arrays).
pub(crate) fn array_type_of(elem: Oid) -> Result<Oid, PgError> {
    tarr::array_type(elem).ok_or_else(|| {
        PgError::error(
            sqlstate::UNDEFINED_OBJECT,
            format!(
                "could not find array type for data type {}",
                types::sql_name(elem)
            ),
        )
    })
}

/// The array a VARIADIC parameter receives from the call's trailing
/// arguments (already coerced to `elem`).
pub(crate) fn variadic_array(items: Vec<Bound>, elem: Oid) -> Result<Bound, PgError> {
    let arr = array_type_of(elem)?;
    Ok(node(
        ArrOp::Construct {
            elem,
            nested: false,
        },
        items,
        Ty::new(arr),
    ))
}
