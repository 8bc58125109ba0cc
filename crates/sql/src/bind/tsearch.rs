//! Binding the text-search operators (`@@ || && !! <-> @> <@` and the
//! comparisons on tsvector/tsquery) and functions into `Func::Ts` calls
//! (crates/sql/src/tsearch.rs evaluates them).
//!
//! Why a child of the binder: operator resolution needs the binder's
//! coercion, and one hook per place in bind.rs keeps the rules here. The
//! rules are PostgreSQL 15's pg_operator/pg_proc rows: an unknown literal
//! next to a tsvector or tsquery takes the type the operator wants there,
//! a configuration argument (regconfig) is read by name.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::tsearch::{CmpOp, TsFn};
use tusk_types::tsearch::QueryMode;

const TSV: Oid = types::TSVECTOR;
const TSQ: Oid = types::TSQUERY;
const TEXT_ARRAY: Oid = 1009;

fn call(f: TsFn, args: Vec<Bound>, ret: Oid) -> Bound {
    Bound::new(
        Expr::Func(func::Func::Ts(f), args.into_iter().map(|b| b.e).collect()),
        Ty::new(ret),
    )
}

fn is_ts(oid: Oid) -> bool {
    oid == TSV || oid == TSQ
}

impl Binder<'_> {
    /// `b` as type `ty` when it is that type, an unknown literal, or (for
    /// text) a string type; `Err` hands it back.
    fn ts_want(&mut self, b: Bound, ty: Oid) -> Result<Result<Bound, Bound>, PgError> {
        if b.ty.oid == ty {
            return Ok(Ok(b));
        }
        if b.is_unknown() || (ty == types::TEXT && is_stringish(b.ty.oid)) {
            return Ok(Ok(self.coerce(b, Ty::new(ty))?));
        }
        if ty == types::INT4 && matches!(b.ty.oid, types::INT2 | types::INT4) {
            return Ok(Ok(self.coerce(b, Ty::new(ty))?));
        }
        Ok(Err(b))
    }

    /// A text-search operator; `Err` hands the operands back when neither
    /// side is a tsvector or tsquery (for `@@`: nor text).
    pub(crate) fn ts_operator(
        &mut self,
        sym: &str,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        let (lt, rt) = (l.ty.oid, r.ty.oid);
        let texty = |o: Oid| is_stringish(o);
        let applies = is_ts(lt)
            || is_ts(rt)
            || (sym == "@@" && (texty(lt) || l.is_unknown()) && (texty(rt) || r.is_unknown()));
        if !applies {
            return Ok(Err((l, r)));
        }
        let fail = || op_not_exist(sym, Some(lt), rt);
        let both = |me: &mut Self, l: Bound, r: Bound, t: Oid| -> Result<(Bound, Bound), PgError> {
            let l = me.ts_want(l, t)?.map_err(|_| fail())?;
            let r = me.ts_want(r, t)?.map_err(|_| fail())?;
            Ok((l, r))
        };
        let cmp = match sym {
            "<" => Some(CmpOp::Lt),
            "<=" => Some(CmpOp::Le),
            "=" => Some(CmpOp::Eq),
            "<>" | "!=" => Some(CmpOp::Ne),
            ">=" => Some(CmpOp::Ge),
            ">" => Some(CmpOp::Gt),
            _ => None,
        };
        if let Some(op) = cmp {
            let t = if lt == TSQ || rt == TSQ { TSQ } else { TSV };
            let (l, r) = both(self, l, r, t)?;
            return Ok(Ok(call(TsFn::Cmp(op, t == TSQ), vec![l, r], types::BOOL)));
        }
        Ok(Ok(match sym {
            "@@" | "@@@" => {
                if lt == TSQ && (rt == TSV || r.is_unknown()) {
                    let l = self.ts_want(l, TSQ)?.map_err(|_| fail())?;
                    let r = self.ts_want(r, TSV)?.map_err(|_| fail())?;
                    call(TsFn::Match(true), vec![l, r], types::BOOL)
                } else if lt == TSV || (l.is_unknown() && rt == TSQ) {
                    let l = self.ts_want(l, TSV)?.map_err(|_| fail())?;
                    let r = self.ts_want(r, TSQ)?.map_err(|_| fail())?;
                    call(TsFn::Match(false), vec![l, r], types::BOOL)
                } else if rt == TSQ {
                    let l = self.ts_want(l, types::TEXT)?.map_err(|_| fail())?;
                    call(TsFn::MatchText, vec![l, r], types::BOOL)
                } else if (texty(lt) || l.is_unknown()) && (texty(rt) || r.is_unknown()) {
                    let (l, r) = both(self, l, r, types::TEXT)?;
                    call(TsFn::MatchTextText, vec![l, r], types::BOOL)
                } else {
                    return Err(fail());
                }
            }
            "||" => {
                let t = if lt == TSQ || rt == TSQ { TSQ } else { TSV };
                let (l, r) = both(self, l, r, t)?;
                let f = if t == TSQ { TsFn::QOr } else { TsFn::Concat };
                call(f, vec![l, r], t)
            }
            "&&" => {
                let (l, r) = both(self, l, r, TSQ)?;
                call(TsFn::QAnd, vec![l, r], TSQ)
            }
            "<->" => {
                let (l, r) = both(self, l, r, TSQ)?;
                call(TsFn::QPhrase, vec![l, r], TSQ)
            }
            "@>" | "<@" => {
                let (l, r) = both(self, l, r, TSQ)?;
                call(TsFn::QContains(sym == "@>"), vec![l, r], types::BOOL)
            }
            _ => return Err(fail()),
        }))
    }

    /// `!! tsquery`.
    pub(crate) fn ts_not(&mut self, b: Bound) -> Result<Bound, PgError> {
        let t = b.ty.oid;
        let b = self
            .ts_want(b, TSQ)?
            .map_err(|_| op_not_exist("!!", None, t))?;
        Ok(call(TsFn::QNot, vec![b], TSQ))
    }

    /// The text-search functions; `Err` hands the arguments back when
    /// `name` is none of them for these arguments.
    pub(crate) fn ts_function(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        let args = match self.json_ts_function(name, args)? {
            Ok(b) => return Ok(Ok(b)),
            Err(a) => a,
        };
        let n = args.len();
        let first = args.first().map(|a| a.ty.oid);
        let first_ts = first.is_some_and(is_ts) || args.first().is_some_and(|a| a.is_unknown());
        // (parameter types, function, result)
        let (params, f, ret): (Vec<Oid>, TsFn, Oid) = match (name, n) {
            ("to_tsvector", 1) => (vec![types::TEXT], TsFn::ToTsvector, TSV),
            ("to_tsvector", 2) => (vec![types::TEXT, types::TEXT], TsFn::ToTsvector, TSV),
            (
                "to_tsquery" | "plainto_tsquery" | "phraseto_tsquery" | "websearch_to_tsquery",
                1 | 2,
            ) => {
                let f = match name {
                    "to_tsquery" => TsFn::ToTsquery(QueryMode::Standard, true),
                    "plainto_tsquery" => TsFn::ToTsquery(QueryMode::Plain, false),
                    "phraseto_tsquery" => TsFn::ToTsquery(QueryMode::Plain, true),
                    _ => TsFn::ToTsquery(QueryMode::Web, true),
                };
                (vec![types::TEXT; n], f, TSQ)
            }
            ("strip", 1) => (vec![TSV], TsFn::Strip, TSV),
            ("setweight", 2) => (vec![TSV, types::TEXT], TsFn::SetWeight, TSV),
            ("setweight", 3) => (
                vec![TSV, types::TEXT, TEXT_ARRAY],
                TsFn::SetWeightFilter,
                TSV,
            ),
            ("length", 1) if first == Some(TSV) => (vec![TSV], TsFn::Length, types::INT4),
            ("numnode", 1) => (vec![TSQ], TsFn::NumNode, types::INT4),
            ("querytree", 1) => (vec![TSQ], TsFn::QueryTree, types::TEXT),
            ("ts_delete", 2) if args[1].ty.oid == TEXT_ARRAY => {
                (vec![TSV, TEXT_ARRAY], TsFn::DeleteArr, TSV)
            }
            ("ts_delete", 2) => (vec![TSV, types::TEXT], TsFn::Delete, TSV),
            ("ts_filter", 2) => (vec![TSV, TEXT_ARRAY], TsFn::Filter, TSV),
            ("tsvector_to_array", 1) => (vec![TSV], TsFn::ToArray, TEXT_ARRAY),
            ("array_to_tsvector", 1) => (vec![TEXT_ARRAY], TsFn::FromArray, TSV),
            ("ts_rank" | "ts_rank_cd", 2..=4) => {
                let cd = name == "ts_rank_cd";
                let weights = tusk_types::array::is_array(first.unwrap_or(0));
                let mut p = Vec::new();
                if weights {
                    p.push(1021);
                }
                p.push(TSV);
                p.push(TSQ);
                if p.len() < n {
                    p.push(types::INT4);
                }
                if p.len() != n {
                    return Ok(Err(args));
                }
                (p, TsFn::Rank(cd, weights), types::FLOAT4)
            }
            ("tsquery_phrase", 2) => (vec![TSQ, TSQ], TsFn::QPhrase, TSQ),
            ("tsquery_phrase", 3) => (vec![TSQ, TSQ, types::INT4], TsFn::QPhrase, TSQ),
            ("ts_headline", 2..=4) => {
                // [config,] document, query [, options]
                let with_cfg = n == 4 || (n == 3 && args[2].ty.oid == TSQ);
                let mut p = Vec::new();
                if with_cfg {
                    p.push(types::TEXT);
                }
                p.push(types::TEXT);
                p.push(TSQ);
                if p.len() < n {
                    p.push(types::TEXT);
                }
                (p, TsFn::Headline, types::TEXT)
            }
            ("tsvectorin", 1) => (vec![types::TEXT], TsFn::TypeIn(false), TSV),
            ("tsqueryin", 1) => (vec![types::TEXT], TsFn::TypeIn(true), TSQ),
            ("tsvectorout", 1) => (vec![TSV], TsFn::TypeOut(false), types::TEXT),
            ("tsqueryout", 1) => (vec![TSQ], TsFn::TypeOut(true), types::TEXT),
            ("ts_rewrite", 3) => (vec![TSQ, TSQ, TSQ], TsFn::Rewrite, TSQ),
            ("ts_lexize", 2) => (vec![types::TEXT, types::TEXT], TsFn::Lexize, TEXT_ARRAY),
            ("tsvector_concat", 2) => (vec![TSV, TSV], TsFn::Concat, TSV),
            ("tsquery_and", 2) => (vec![TSQ, TSQ], TsFn::QAnd, TSQ),
            ("tsquery_or", 2) => (vec![TSQ, TSQ], TsFn::QOr, TSQ),
            ("tsquery_not", 1) => (vec![TSQ], TsFn::QNot, TSQ),
            ("ts_match_vq", 2) => (vec![TSV, TSQ], TsFn::Match(false), types::BOOL),
            ("ts_match_qv", 2) => (vec![TSQ, TSV], TsFn::Match(true), types::BOOL),
            ("ts_match_tq", 2) => (vec![types::TEXT, TSQ], TsFn::MatchText, types::BOOL),
            ("ts_match_tt", 2) => (
                vec![types::TEXT, types::TEXT],
                TsFn::MatchTextText,
                types::BOOL,
            ),
            _ => return Ok(Err(args)),
        };
        let _ = first_ts;
        let mut out = Vec::with_capacity(n);
        let mut failed = false;
        let mut back = Vec::new();
        for (a, p) in args.into_iter().zip(params.iter()) {
            if failed {
                back.push(a);
                continue;
            }
            let ok = if *p == 1021 {
                if tusk_types::array::is_array(a.ty.oid) {
                    Ok(self.coerce(a, Ty::new(1021))?)
                } else {
                    Err(a)
                }
            } else if *p == TEXT_ARRAY && a.ty.oid != TEXT_ARRAY && !a.is_unknown() {
                if tusk_types::array::is_array(a.ty.oid) {
                    Ok(self.coerce(a, Ty::new(TEXT_ARRAY))?)
                } else {
                    Err(a)
                }
            } else {
                self.ts_want(a, *p)?
            };
            match ok {
                Ok(b) => out.push(b),
                Err(b) => {
                    failed = true;
                    back.append(&mut out);
                    back.push(b);
                }
            }
        }
        if failed {
            return Ok(Err(back));
        }
        // Headlines: the configuration and options default.
        if f == TsFn::Headline {
            let empty = || {
                Bound::new(
                    Expr::Const(Value::Text(String::new())),
                    Ty::new(types::TEXT),
                )
            };
            if out.len() == 2 || (out.len() == 3 && out[1].ty.oid == TSQ) {
                out.insert(0, empty());
            }
            if out.len() == 3 {
                out.push(empty());
            }
        }
        // One-argument forms take the default configuration.
        if matches!(f, TsFn::ToTsvector | TsFn::ToTsquery(..)) && n == 1 {
            // Empty: default_text_search_config when evaluated.
            let cfg = Bound::new(
                Expr::Const(Value::Text(String::new())),
                Ty::new(types::TEXT),
            );
            out.insert(0, cfg);
        }
        Ok(Ok(call(f, out, ret)))
    }
}

impl Binder<'_> {
    /// unnest(tsvector), ts_token_type, ts_parse and ts_debug in FROM;
    /// `Err(args)` for any other function.
    pub(super) fn ts_set_function(
        &mut self,
        fname: &str,
        alias: Option<&ast::TableAlias>,
        args: Vec<Bound>,
    ) -> Result<Result<(Source, Scope), Vec<Bound>>, PgError> {
        use crate::tsearch::TsSrf;
        let n = args.len();
        let (op, params): (TsSrf, Vec<Oid>) = match (fname, n) {
            ("unnest", 1) if args[0].ty.oid == TSV => (TsSrf::Unnest, vec![TSV]),
            ("ts_token_type", 1) => (TsSrf::TokenType, vec![types::TEXT]),
            ("ts_parse", 2) => (TsSrf::Parse, vec![types::TEXT, types::TEXT]),
            ("ts_debug", 1 | 2) => (TsSrf::Debug, vec![types::TEXT; n]),
            _ => return Ok(Err(args)),
        };
        let mut out = Vec::with_capacity(n + 1);
        for (a, p) in args.into_iter().zip(params) {
            // A parser named by oid (3722) reads as its name.
            let a = if p == types::TEXT && matches!(a.ty.oid, types::INT4 | types::OID) {
                self.coerce_to_text_any(a)?
            } else {
                a
            };
            let shown = a.ty.oid;
            match self.ts_want(a, p)? {
                Ok(b) => out.push(b),
                Err(_) => {
                    return Err(PgError::error(
                        sqlstate::UNDEFINED_FUNCTION,
                        format!("function {fname}({}) does not exist", types::sql_name(shown)),
                    )
                    .with_hint("No function matches the given name and argument types. You might need to add explicit type casts."))
                }
            }
        }
        if op == TsSrf::Debug && n == 1 {
            out.insert(
                0,
                Bound::new(
                    Expr::Const(Value::Text(String::new())),
                    Ty::new(types::TEXT),
                ),
            );
        }
        let alias_name = alias
            .map(|a| ident_name(&a.name))
            .unwrap_or_else(|| fname.to_string());
        let mut cols: Vec<(String, Ty)> = crate::tsearch::srf_columns(op)
            .into_iter()
            .map(|(c, t)| (c.to_string(), Ty::new(t)))
            .collect();
        super::rename_function_columns(alias, &alias_name, &mut cols)?;
        let width = cols.len();
        Ok(Ok((
            Source::SetFunc {
                op: crate::arrays::SrfOp::Ts(op),
                args: out.into_iter().map(|b| b.e).collect(),
            },
            Scope::single(Some(alias_name), None, cols, width),
        )))
    }

    fn coerce_to_text_any(&mut self, a: Bound) -> Result<Bound, PgError> {
        self.cast_typed(a, Ty::new(types::TEXT))
    }
}
