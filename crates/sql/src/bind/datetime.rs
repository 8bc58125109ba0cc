//! Binding date/time syntax: INTERVAL literals, `+ - * /` and unary minus
//! on date/time operands, EXTRACT, and the date/time functions into
//! `Expr::DateTime` nodes (crates/sql/src/dtops.rs evaluates them).
//!
//! Why a child of the binder: it needs the binder's private coercion, and
//! keeping PostgreSQL's operator table for these types in its own file
//! leaves the hooks in bind.rs to one call each. The operator table is
//! PostgreSQL 15's (pg_operator) for the types tusk has.
//!
//! Called by the backend binding a statement.

use super::*;
use crate::dtops::DtOp;
use types::{DATE, FLOAT8, INT4, INTERVAL, NUMERIC, TEXT, TIME, TIMESTAMP, TIMESTAMPTZ, TIMETZ};

fn is_dt(o: Oid) -> bool {
    matches!(o, DATE | TIMESTAMP | TIMESTAMPTZ | INTERVAL | TIME | TIMETZ)
}

fn dt(op: DtOp, args: Vec<Bound>, ret: Oid) -> Bound {
    Bound::new(
        Expr::DateTime(op, args.into_iter().map(|b| b.e).collect()),
        Ty::new(ret),
    )
}

/// The result type of `a op b` among PostgreSQL's date/time operators.
fn result_type(op: ArithOp, a: Oid, b: Oid) -> Option<Oid> {
    use ArithOp::*;
    let int = |o| matches!(o, types::INT2 | types::INT4);
    let ts = |o| matches!(o, TIMESTAMP | TIMESTAMPTZ);
    Some(match (op, a, b) {
        (Add | Sub, INTERVAL, INTERVAL) => INTERVAL,
        (Add | Sub, x, INTERVAL) if ts(x) => x,
        (Add, INTERVAL, x) if ts(x) => x,
        (Sub, x, y) if ts(x) && ts(y) => INTERVAL,
        (Add | Sub, DATE, y) if int(y) => DATE,
        (Add, x, DATE) if int(x) => DATE,
        (Sub, DATE, DATE) => INT4,
        (Add | Sub, DATE, INTERVAL) | (Add, INTERVAL, DATE) => TIMESTAMP,
        (Add, DATE, TIME) | (Add, TIME, DATE) => TIMESTAMP,
        (Add, DATE, TIMETZ) | (Add, TIMETZ, DATE) => TIMESTAMPTZ,
        (Add | Sub, TIME, INTERVAL) | (Add, INTERVAL, TIME) => TIME,
        (Sub, TIME, TIME) => INTERVAL,
        (Add | Sub, TIMETZ, INTERVAL) | (Add, INTERVAL, TIMETZ) => TIMETZ,
        (Mul, INTERVAL, FLOAT8) | (Mul, FLOAT8, INTERVAL) | (Div, INTERVAL, FLOAT8) => INTERVAL,
        _ => return None,
    })
}

impl<'h> Binder<'h> {
    /// `INTERVAL '...' [unit]`: a constant; a bare number takes the unit.
    pub(crate) fn interval_literal(&mut self, iv: &ast::Interval) -> Result<Bound, PgError> {
        let b = self.bind_expr(&iv.value)?;
        let unit = iv
            .last_field
            .as_ref()
            .or(iv.leading_field.as_ref())
            .map(|f| f.to_string().to_lowercase());
        if let (Expr::Const(Value::Text(s)), Some(u)) = (&b.e, &unit) {
            let t = s.trim();
            if !t.is_empty() && t.parse::<f64>().is_ok() {
                let v = tusk_types::interval::parse(&format!("{t} {u}"))
                    .map_err(|e| tusk_types::cast::interval_error(e, s).with_position(b.pos))?;
                return Ok(Bound::new(
                    Expr::Const(Value::Interval(v)),
                    Ty::new(INTERVAL),
                ));
            }
        }
        let mut ty = Ty::new(INTERVAL);
        if let Some(p) = iv.fractional_seconds_precision.or(iv.leading_precision) {
            if iv.leading_field.is_none() {
                ty = Ty::with_mod(INTERVAL, (0x7FFF << 16) | p.min(6) as i32);
            }
        }
        self.explicit_cast(b, ty)
    }

    /// `l op r` when either side is a date/time type; `Err((l, r))` hands
    /// the operands back otherwise.
    pub(crate) fn datetime_arith(
        &mut self,
        op: ArithOp,
        l: Bound,
        r: Bound,
    ) -> Result<Result<Bound, (Bound, Bound)>, PgError> {
        let (a, b) = (l.ty.oid, r.ty.oid);
        if !is_dt(a) && !is_dt(b) {
            return Ok(Err((l, r)));
        }
        // An unknown literal next to a date/time value: the same type when
        // PostgreSQL has that operator, else interval (or float8 for * /).
        let resolve = |known: Oid| -> Oid {
            if result_type(op, known, known).is_some() {
                known
            } else if matches!(op, ArithOp::Mul | ArithOp::Div) {
                FLOAT8
            } else {
                INTERVAL
            }
        };
        let (l, r) = match (l.is_unknown(), r.is_unknown()) {
            (true, false) => {
                let t = resolve(b);
                (self.coerce(l, Ty::new(t))?, r)
            }
            (false, true) => {
                let t = resolve(a);
                let r = self.coerce(r, Ty::new(t))?;
                (l, r)
            }
            _ => (l, r),
        };
        let (mut l, mut r) = (l, r);
        // Numbers multiplying or dividing an interval are float8; a date
        // meeting a timestamp is promoted (date - timestamp etc.).
        if matches!(op, ArithOp::Mul | ArithOp::Div) {
            if l.ty.oid == INTERVAL && types::numeric_rank(r.ty.oid).is_some() {
                r = self.coerce(r, Ty::new(FLOAT8))?;
            } else if r.ty.oid == INTERVAL
                && op == ArithOp::Mul
                && types::numeric_rank(l.ty.oid).is_some()
            {
                l = self.coerce(l, Ty::new(FLOAT8))?;
            }
        }
        let (a, b) = (l.ty.oid, r.ty.oid);
        if op == ArithOp::Sub
            && matches!(a, DATE | TIMESTAMP | TIMESTAMPTZ)
            && matches!(b, DATE | TIMESTAMP | TIMESTAMPTZ)
            && a != b
        {
            let t = if a == TIMESTAMPTZ || b == TIMESTAMPTZ {
                TIMESTAMPTZ
            } else {
                TIMESTAMP
            };
            l = self.coerce(l, Ty::new(t))?;
            r = self.coerce(r, Ty::new(t))?;
        }
        let (a, b) = (l.ty.oid, r.ty.oid);
        if op == ArithOp::Add && a == TIME && b == TIME {
            // time + time could be time + interval or interval + time
            // after the implicit cast: PostgreSQL calls that ambiguous.
            return Err(op_not_unique("+", a, b));
        }
        match result_type(op, a, b) {
            Some(ret) => Ok(Ok(dt(DtOp::Arith(op), vec![l, r], ret))),
            None => Err(op_not_exist(op.symbol(), Some(a), b)),
        }
    }

    /// Unary minus of an interval.
    pub(crate) fn interval_neg(&mut self, b: Bound) -> Result<Bound, (Bound,)> {
        if b.ty.oid == INTERVAL {
            Ok(dt(DtOp::Neg, vec![b], INTERVAL))
        } else {
            Err((b,))
        }
    }

    /// EXTRACT(field FROM expr): numeric.
    pub(crate) fn extract(&mut self, field: &str, expr: &ast::Expr) -> Result<Bound, PgError> {
        let b = self.bind_expr(expr)?;
        let b = self.datetime_arg(b)?;
        let f = Bound::new(
            Expr::Const(Value::Text(field.to_lowercase())),
            Ty::new(TEXT),
        );
        Ok(dt(DtOp::Extract { float: false }, vec![f, b], NUMERIC))
    }

    /// A date/time argument of a polymorphic-looking function: unknown is
    /// timestamptz (the preferred type), others must be date/time.
    fn datetime_arg(&mut self, b: Bound) -> Result<Bound, PgError> {
        if b.is_unknown() {
            return self.coerce(b, Ty::new(TIMESTAMPTZ));
        }
        if !is_dt(b.ty.oid) {
            return Err(PgError::error(
                sqlstate::UNDEFINED_FUNCTION,
                format!(
                    "function extract(unknown, {}) does not exist",
                    types::sql_name(b.ty.oid)
                ),
            ));
        }
        Ok(b)
    }

    fn coerce_all(&mut self, args: Vec<Bound>, tys: &[Oid]) -> Result<Vec<Bound>, PgError> {
        let mut out = Vec::with_capacity(args.len());
        for (a, t) in args.into_iter().zip(tys) {
            out.push(self.coerce(a, Ty::new(*t))?);
        }
        Ok(out)
    }

    /// `x AT TIME ZONE zone` (and timezone(zone, x)): a timestamptz gives
    /// the local timestamp there, a timestamp the instant it names there,
    /// a timetz the same instant at the zone's offset now.
    pub(crate) fn at_time_zone(&mut self, args: Vec<Bound>) -> Result<Bound, PgError> {
        let t = match args[1].ty.oid {
            TIMESTAMP => TIMESTAMP,
            TIMETZ => TIMETZ,
            _ => TIMESTAMPTZ,
        };
        let z = if args[0].ty.oid == INTERVAL {
            INTERVAL
        } else {
            TEXT
        };
        let ret = match t {
            TIMESTAMP => TIMESTAMPTZ,
            TIMETZ => TIMETZ,
            _ => TIMESTAMP,
        };
        let a = self.coerce_all(args, &[z, t])?;
        Ok(dt(DtOp::AtZone, a, ret))
    }

    /// The date/time functions; `Err(args)` gives the arguments back when
    /// `name` is none of them (or the argument count does not fit).
    pub(crate) fn datetime_function(
        &mut self,
        name: &str,
        args: Vec<Bound>,
    ) -> Result<Result<Bound, Vec<Bound>>, PgError> {
        let n = args.len();
        let fits = |o: Oid, set: &[Oid]| o == types::UNKNOWN || set.contains(&o);
        Ok(Ok(match (name, n) {
            ("date_part", 2) => {
                let mut it = args.into_iter();
                let f = it
                    .next()
                    .unwrap_or_else(|| Bound::new(Expr::Const(Value::Null), Ty::new(TEXT)));
                let f = self.coerce(f, Ty::new(TEXT))?;
                let v = it
                    .next()
                    .unwrap_or_else(|| Bound::new(Expr::Const(Value::Null), Ty::new(TEXT)));
                let v = self.datetime_arg(v)?;
                let v = if v.ty.oid == DATE {
                    self.coerce(v, Ty::new(TIMESTAMP))?
                } else {
                    v
                };
                dt(DtOp::Extract { float: true }, vec![f, v], FLOAT8)
            }
            ("date_trunc", 2 | 3)
                if fits(args[1].ty.oid, &[TIMESTAMP, TIMESTAMPTZ, DATE, INTERVAL]) =>
            {
                let t = match args[1].ty.oid {
                    TIMESTAMP => TIMESTAMP,
                    INTERVAL => INTERVAL,
                    _ => TIMESTAMPTZ,
                };
                if n == 3 && t != TIMESTAMPTZ {
                    return Ok(Err(args));
                }
                let a = self.coerce_all(args, &[TEXT, t, TEXT])?;
                dt(DtOp::Trunc, a, t)
            }
            ("timezone", 2)
                if fits(
                    args[0].ty.oid,
                    &[TEXT, types::VARCHAR, types::BPCHAR, types::NAME, INTERVAL],
                ) && fits(args[1].ty.oid, &[TIMESTAMP, TIMESTAMPTZ, TIMETZ, DATE]) =>
            {
                return self.at_time_zone(args).map(Ok);
            }
            ("age", 1 | 2)
                if args
                    .iter()
                    .all(|a| fits(a.ty.oid, &[TIMESTAMP, TIMESTAMPTZ, DATE])) =>
            {
                let t = if args
                    .iter()
                    .any(|a| a.ty.oid == TIMESTAMPTZ || a.is_unknown())
                {
                    TIMESTAMPTZ
                } else {
                    TIMESTAMP
                };
                let a = self.coerce_all(args, &[t, t])?;
                dt(DtOp::Age, a, INTERVAL)
            }
            ("justify_days" | "justify_hours" | "justify_interval", 1)
                if fits(args[0].ty.oid, &[INTERVAL]) =>
            {
                let op = match name {
                    "justify_days" => DtOp::JustifyDays,
                    "justify_hours" => DtOp::JustifyHours,
                    _ => DtOp::JustifyInterval,
                };
                let a = self.coerce_all(args, &[INTERVAL])?;
                dt(op, a, INTERVAL)
            }
            ("make_date", 3) => {
                let a = self.coerce_all(args, &[INT4, INT4, INT4])?;
                dt(DtOp::MakeDate, a, DATE)
            }
            ("make_time", 3) => {
                let a = self.coerce_all(args, &[INT4, INT4, FLOAT8])?;
                dt(DtOp::MakeTime, a, TIME)
            }
            ("make_timestamp", 6) | ("make_timestamptz", 6 | 7) => {
                let a = self.coerce_all(args, &[INT4, INT4, INT4, INT4, INT4, FLOAT8, TEXT])?;
                let tz = name == "make_timestamptz";
                dt(
                    DtOp::MakeTimestamp { tz },
                    a,
                    if tz { TIMESTAMPTZ } else { TIMESTAMP },
                )
            }
            ("make_interval", 0..=7) => {
                let mut a = args;
                while a.len() < 7 {
                    let zero = if a.len() == 6 {
                        Value::Float8(0.0)
                    } else {
                        Value::Int4(0)
                    };
                    let t = if a.len() == 6 { FLOAT8 } else { INT4 };
                    a.push(Bound::new(Expr::Const(zero), Ty::new(t)));
                }
                let a = self.coerce_all(a, &[INT4, INT4, INT4, INT4, INT4, INT4, FLOAT8])?;
                dt(DtOp::MakeInterval, a, INTERVAL)
            }
            ("to_timestamp", 1)
                if types::numeric_rank(args[0].ty.oid).is_some() || args[0].is_unknown() =>
            {
                let a = self.coerce_all(args, &[FLOAT8])?;
                dt(DtOp::ToTimestamp, a, TIMESTAMPTZ)
            }
            ("to_char", 2) => {
                let t = match args[0].ty.oid {
                    DATE | types::UNKNOWN => TIMESTAMPTZ,
                    types::INT2 => INT4,
                    o if matches!(
                        o,
                        TIMESTAMP | TIMESTAMPTZ | INTERVAL | NUMERIC | INT4 | types::INT8
                    ) || o == types::FLOAT4
                        || o == FLOAT8 =>
                    {
                        o
                    }
                    _ => return Ok(Err(args)),
                };
                let a = self.coerce_all(args, &[t, TEXT])?;
                dt(DtOp::ToChar, a, TEXT)
            }
            ("to_number", 2) => {
                let a = self.coerce_all(args, &[TEXT, TEXT])?;
                dt(DtOp::ToNumber, a, NUMERIC)
            }
            ("to_date", 2) => {
                let a = self.coerce_all(args, &[TEXT, TEXT])?;
                dt(DtOp::ToDate, a, DATE)
            }
            ("to_timestamp", 2) => {
                let a = self.coerce_all(args, &[TEXT, TEXT])?;
                dt(DtOp::ToTimestampFmt, a, TIMESTAMPTZ)
            }
            ("isfinite", 1) if fits(args[0].ty.oid, &[DATE, TIMESTAMP, TIMESTAMPTZ, INTERVAL]) => {
                let t = if args[0].is_unknown() {
                    TIMESTAMPTZ
                } else {
                    args[0].ty.oid
                };
                let a = self.coerce_all(args, &[t])?;
                dt(DtOp::IsFinite, a, types::BOOL)
            }
            ("date_bin", 3) if fits(args[1].ty.oid, &[TIMESTAMP, TIMESTAMPTZ, DATE]) => {
                let t = if args[1].ty.oid == TIMESTAMP {
                    TIMESTAMP
                } else {
                    TIMESTAMPTZ
                };
                let a = self.coerce_all(args, &[INTERVAL, t, t])?;
                dt(DtOp::DateBin, a, t)
            }
            ("overlaps", 4) => {
                let tys: Vec<Oid> = args.iter().map(|a| a.ty.oid).collect();
                let t = tys
                    .iter()
                    .copied()
                    .find(|t| matches!(*t, TIMESTAMPTZ | TIMESTAMP | DATE | TIME))
                    .unwrap_or(TIMESTAMPTZ);
                let t = if t == DATE { TIMESTAMP } else { t };
                // The second of each pair may be an interval: start + it.
                let mut a = Vec::with_capacity(4);
                let mut it = args.into_iter();
                for _ in 0..2 {
                    let s = it
                        .next()
                        .unwrap_or_else(|| Bound::new(Expr::Const(Value::Null), Ty::new(t)));
                    let s = self.coerce(s, Ty::new(t))?;
                    let e = it
                        .next()
                        .unwrap_or_else(|| Bound::new(Expr::Const(Value::Null), Ty::new(t)));
                    let e = if e.ty.oid == INTERVAL {
                        dt(DtOp::Arith(ArithOp::Add), vec![s.clone(), e], t)
                    } else {
                        self.coerce(e, Ty::new(t))?
                    };
                    a.push(s);
                    a.push(e);
                }
                dt(DtOp::Overlaps, a, types::BOOL)
            }
            ("current_time", 0) => dt(DtOp::CurrentTime { tz: true }, vec![], TIMETZ),
            ("localtime", 0) => dt(DtOp::CurrentTime { tz: false }, vec![], TIME),
            _ => return Ok(Err(args)),
        }))
    }
}
