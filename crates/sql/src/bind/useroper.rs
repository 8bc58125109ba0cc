//! Binding user-defined operators (pg_operator rows, crates/sql/src/operator.rs) into calls of their functions, and user-defined casts (pg_cast rows) into conversions.
//!
//! Why a child of the binder with one hook in bind_expr: the built-in
//! operators are the binder's own code, not rows, so PostgreSQL's single
//! resolution over pg_operator becomes two steps with the same outcome
//! for the cases that matter: an exact match among the user-defined
//! operators wins (a user operator on built-in types with a built-in
//! symbol shadows nothing PostgreSQL would pick instead, since the
//! built-in one would also be an exact match only for the same types,
//! which CREATE OPERATOR then refuses as existing); otherwise the
//! built-in binding runs, and only when it finds no operator (42883) are
//! the user-defined ones tried with implicit coercions. With no
//! user-defined operator of that name the hook costs one cached-list
//! check.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::operator::{Builtin, OperDef};

impl<'h> Binder<'h> {
    /// The schemas an unqualified operator name is looked up in.
    fn operator_path(&self) -> Vec<String> {
        let mut out = vec!["pg_catalog".to_string()];
        let Ok(sp) = self.host.show("search_path") else {
            return out;
        };
        for part in sp.split(',') {
            let p = part.trim().trim_matches('"');
            if p == "$user" {
                out.push(self.host.identity().user.clone());
            } else if !p.is_empty() {
                out.push(p.to_string());
            }
        }
        out
    }

    /// The user-defined operators of this name and kind visible here.
    fn operator_candidates(
        &self,
        schema: Option<&str>,
        name: &str,
        kind: u8,
    ) -> Result<Vec<OperDef>, PgError> {
        let cat = self.host.user_operators()?;
        if cat.ops.is_empty() {
            return Ok(Vec::new());
        }
        let path = match schema {
            Some(s) => vec![s.to_string()],
            None => self.operator_path(),
        };
        let mut out: Vec<OperDef> = Vec::new();
        for s in &path {
            for o in cat
                .ops
                .iter()
                .filter(|o| o.name == name && o.kind == kind && o.code != 0 && &o.schema == s)
            {
                // An earlier schema's operator hides a later one's of the
                // same signature.
                if !out.iter().any(|x| x.left == o.left && x.right == o.right) {
                    out.push(o.clone());
                }
            }
        }
        Ok(out)
    }

    /// A binary operator expression: user-defined operators first when
    /// any has this name (see the module comment), else the built-ins.
    pub(crate) fn binary_or_user(
        &mut self,
        left: &ast::Expr,
        op: &BinaryOperator,
        right: &ast::Expr,
    ) -> Result<Bound, PgError> {
        // The common case, a database without user-defined operators:
        // no symbol to spell out.
        if !matches!(
            op,
            BinaryOperator::Custom(_) | BinaryOperator::PGCustomBinaryOperator(_)
        ) && self.host.user_operators()?.ops.is_empty()
        {
            return self.binary(left, op, right);
        }
        let (schema, name, custom) = match op {
            BinaryOperator::Custom(s) => (None, s.clone(), true),
            BinaryOperator::PGCustomBinaryOperator(parts) => match parts.split_last() {
                Some((last, rest)) => (rest.last().cloned(), last.clone(), true),
                None => return self.binary(left, op, right),
            },
            BinaryOperator::And | BinaryOperator::Or | BinaryOperator::Xor => {
                return self.binary(left, op, right)
            }
            other => (None, other.to_string(), false),
        };
        let cands = self.operator_candidates(schema.as_deref(), &name, b'b')?;
        if cands.is_empty() {
            if let BinaryOperator::Custom(sym) = op {
                // A symbol the token rewrite (operator.rs) made whole:
                // the built-in operator when there is one, else
                // PostgreSQL's "does not exist".
                if let Some(b) = builtin_operator(sym) {
                    return self.binary(left, &b, right);
                }
                return match self.binary(left, op, right) {
                    Err(e) if e.code == sqlstate::FEATURE_NOT_SUPPORTED => {
                        let l = self.bind_expr(left)?;
                        let r = self.bind_expr(right)?;
                        Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid))
                    }
                    other => other,
                };
            }
            if let BinaryOperator::PGCustomBinaryOperator(_) = op {
                // OPERATOR(schema.op) of a built-in symbol: pg_catalog's
                // operators are the binder's own.
                if schema.as_deref().is_none_or(|s| s == "pg_catalog") {
                    if let Some(b) = builtin_operator(&name) {
                        return self.binary(left, &b, right);
                    }
                }
                return match self.binary(left, op, right) {
                    Err(e) if e.code == sqlstate::FEATURE_NOT_SUPPORTED => {
                        let l = self.bind_expr(left)?;
                        let r = self.bind_expr(right)?;
                        Err(op_not_exist(&name, Some(l.ty.oid), r.ty.oid))
                    }
                    other => other,
                };
            }
            return self.binary(left, op, right);
        }
        let l = self.bind_expr(left)?;
        let r = self.bind_expr(right)?;
        let (lt, rt) = (l.ty.oid, r.ty.oid);
        // binary_oper_exact: an unknown side takes the other's type.
        let exact = cands.iter().find(|o| {
            let lt = if l.is_unknown() { rt } else { lt };
            let rt = if r.is_unknown() { lt } else { rt };
            o.left == lt && o.right == rt
        });
        if let Some(o) = exact.cloned() {
            return self.call_operator(&o, vec![l, r]);
        }
        let builtin_err = if !custom {
            match self.binary(left, op, right) {
                Ok(b) => return Ok(b),
                Err(e) if e.code == sqlstate::UNDEFINED_FUNCTION => Some(e),
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let fits: Vec<&OperDef> = cands
            .iter()
            .filter(|o| implicit_ok(lt, o.left) && implicit_ok(rt, o.right))
            .collect();
        // Prefer the candidates matching more argument types exactly.
        let score = |o: &OperDef| (o.left == lt) as u8 + (o.right == rt) as u8;
        let best = fits.iter().map(|o| score(o)).max();
        let top: Vec<&OperDef> = fits
            .iter()
            .filter(|o| Some(score(o)) == best)
            .copied()
            .collect();
        match top.as_slice() {
            [o] => {
                let o = (*o).clone();
                self.call_operator(&o, vec![l, r])
            }
            [] => Err(builtin_err.unwrap_or_else(|| op_not_exist(&name, Some(lt), rt))),
            _ => Err(PgError::error(
                sqlstate::AMBIGUOUS_FUNCTION,
                format!(
                    "operator is not unique: {} {name} {}",
                    types::sql_name(lt),
                    types::sql_name(rt)
                ),
            )
            .with_hint(
                "Could not choose a best candidate operator. You might need to add explicit type casts.",
            )),
        }
    }

    /// A prefix operator application (operator.rs rewrote `@#@ x` into a
    /// call of a marked name): None for any other call.
    pub(crate) fn prefix_operator_call(
        &mut self,
        f: &ast::Function,
    ) -> Result<Option<Bound>, PgError> {
        let Some(ast::ObjectNamePart::Identifier(id)) = f.name.0.last() else {
            return Ok(None);
        };
        let Some(name) = crate::operator::prefix_marker_op(&id.value) else {
            return Ok(None);
        };
        let name = name.to_string();
        let ast::FunctionArguments::List(list) = &f.args else {
            return Err(PgError::error(sqlstate::SYNTAX_ERROR, "syntax error"));
        };
        let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] = list.args.as_slice()
        else {
            return Err(PgError::error(sqlstate::SYNTAX_ERROR, "syntax error"));
        };
        let arg = self.bind_expr(e)?;
        let t = arg.ty.oid;
        let cands = self.operator_candidates(None, &name, b'l')?;
        if let Some(o) = cands
            .iter()
            .find(|o| o.right == t || arg.is_unknown() && cands.len() == 1)
            .cloned()
        {
            return self.call_operator(&o, vec![arg]).map(Some);
        }
        let fits: Vec<&OperDef> = cands.iter().filter(|o| implicit_ok(t, o.right)).collect();
        match fits.as_slice() {
            [o] => {
                let o = (*o).clone();
                self.call_operator(&o, vec![arg]).map(Some)
            }
            [] => Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!("operator does not exist: {name} {}", types::sql_name(t)),
            )
            .with_hint(
                "No operator matches the given name and argument type. You might need to add an explicit type cast.",
            )),
            _ => Err(PgError::error(
                sqlstate::AMBIGUOUS_FUNCTION,
                format!("operator is not unique: {name} {}", types::sql_name(t)),
            )
            .with_hint(
                "Could not choose a best candidate operator. You might need to add explicit type casts.",
            )),
        }
    }

    /// The operator's function applied to its operands, each coerced to
    /// the operator's declared type.
    fn call_operator(&mut self, o: &OperDef, args: Vec<Bound>) -> Result<Bound, PgError> {
        let decl: Vec<Oid> = if o.kind == b'l' {
            vec![o.right]
        } else {
            vec![o.left, o.right]
        };
        let mut coerced = Vec::with_capacity(args.len());
        for (a, t) in args.into_iter().zip(decl) {
            coerced.push(self.coerce(a, Ty::new(t))?);
        }
        let user = self.host.routine_by_oid(o.code)?;
        // A LANGUAGE internal function is the built-in its prosrc names.
        let builtin = match &user {
            Some(def) if def.language == "internal" => crate::operator::BUILTIN_PROCS
                .iter()
                .find(|p| p.name == def.src.trim()),
            Some(_) => None,
            None => crate::operator::builtin_proc(o.code),
        };
        if let (Some(def), None) = (user, builtin) {
            let ty = Ty::new(def.ret);
            return Ok(Bound::new(
                Expr::UserFunc(def, coerced.into_iter().map(|b| b.e).collect()),
                ty,
            ));
        }
        let Some(p) = builtin else {
            return Err(PgError::error(
                sqlstate::INTERNAL_ERROR,
                format!("cache lookup failed for function {}", o.code),
            ));
        };
        match p.imp {
            Builtin::Func(name) => self.call_function(name, coerced),
            Builtin::Op(sym) => {
                let mut it = coerced.into_iter();
                let (Some(l), Some(r)) = (it.next(), it.next()) else {
                    return Err(PgError::error(
                        sqlstate::INTERNAL_ERROR,
                        format!("function {} takes two arguments", p.name),
                    ));
                };
                let cmp = match sym {
                    "=" => Some(CmpOp::Eq),
                    "<>" => Some(CmpOp::Ne),
                    "<" => Some(CmpOp::Lt),
                    "<=" => Some(CmpOp::Le),
                    ">" => Some(CmpOp::Gt),
                    ">=" => Some(CmpOp::Ge),
                    _ => None,
                };
                if let Some(c) = cmp {
                    let (l, r) = self.compare_bound(l, r, sym)?;
                    return Ok(Bound::new(
                        Expr::Cmp(c, Box::new(l.e), Box::new(r.e)),
                        Ty::new(types::BOOL),
                    ));
                }
                let arith = match sym {
                    "+" => Some(ArithOp::Add),
                    "-" => Some(ArithOp::Sub),
                    "*" => Some(ArithOp::Mul),
                    "/" => Some(ArithOp::Div),
                    "%" => Some(ArithOp::Mod),
                    _ => None,
                };
                if let Some(a) = arith {
                    return self.arith(a, l, r);
                }
                if sym == "^" {
                    return self.arith(ArithOp::Pow, l, r);
                }
                if matches!(sym, "&" | "|" | "#" | "<<" | ">>") {
                    if let Some(b) = builtin_operator(sym) {
                        return self.bitwise_operator(&b, l, r);
                    }
                }
                match self.geo_binary(sym, l, r)? {
                    Ok(b) => Ok(b),
                    Err((l, r)) => Err(op_not_exist(sym, Some(l.ty.oid), r.ty.oid)),
                }
            }
            Builtin::Estimator => Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("function {} cannot be called from SQL", p.name),
            )),
        }
    }

    /// A user-defined cast from `b`'s type to `target` (pg_cast), or `b`
    /// back when there is none.
    pub(crate) fn user_cast(&self, b: Bound, target: Ty) -> Result<Result<Bound, Bound>, PgError> {
        let cat = self.host.user_operators()?;
        let Some(c) = cat
            .casts
            .iter()
            .find(|c| c.source == b.ty.oid && c.target == target.oid)
        else {
            return Ok(Err(b));
        };
        match c.method {
            b'f' => {
                let Some(def) = self.host.routine_by_oid(c.func)? else {
                    return Ok(Err(b));
                };
                let ret = def.ret;
                let call = Expr::UserFunc(def, vec![b.e]);
                if ret == target.oid {
                    return Ok(Ok(Bound::new(call, target)));
                }
                // A function returning a binary-compatible type: its
                // result relabelled.
                Ok(Ok(Bound::new(
                    Expr::Cast {
                        arg: Box::new(call),
                        from: ret,
                        to: target,
                    },
                    target,
                )))
            }
            // I/O conversion and binary coercion: through the text form,
            // which gives the same value for binary-compatible types.
            _ => Ok(Ok(Bound::new(
                Expr::Cast {
                    arg: Box::new(Expr::Cast {
                        arg: Box::new(b.e),
                        from: b.ty.oid,
                        to: Ty::new(types::TEXT),
                    }),
                    from: types::TEXT,
                    to: target,
                },
                target,
            ))),
        }
    }
}

/// The parser operator of a built-in symbol written as
/// OPERATOR(pg_catalog.sym).
fn builtin_operator(sym: &str) -> Option<BinaryOperator> {
    use BinaryOperator as B;
    Some(match sym {
        "+" => B::Plus,
        "-" => B::Minus,
        "*" => B::Multiply,
        "/" => B::Divide,
        "%" => B::Modulo,
        "^" => B::PGExp,
        "=" => B::Eq,
        "<>" | "!=" => B::NotEq,
        "<" => B::Lt,
        "<=" => B::LtEq,
        ">" => B::Gt,
        ">=" => B::GtEq,
        "||" => B::StringConcat,
        "&" => B::BitwiseAnd,
        "|" => B::BitwiseOr,
        "#" => B::PGBitwiseXor,
        "<<" => B::PGBitwiseShiftLeft,
        ">>" => B::PGBitwiseShiftRight,
        "~" => B::PGRegexMatch,
        "~*" => B::PGRegexIMatch,
        "!~" => B::PGRegexNotMatch,
        "!~*" => B::PGRegexNotIMatch,
        "~~" => B::PGLikeMatch,
        "!~~" => B::PGNotLikeMatch,
        "~~*" => B::PGILikeMatch,
        "!~~*" => B::PGNotILikeMatch,
        _ => return None,
    })
}
