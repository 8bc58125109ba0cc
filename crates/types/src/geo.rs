//! The geometric types point, lseg, line, box, path, polygon and circle:
//! their text and binary forms and PostgreSQL 15's operators on them.
//!
//! Why one file and one [`Geo`] enum: the seven types share their parser
//! (PostgreSQL's pair/path decoding), their float8 output and the fuzzy
//! comparisons (EPSILON = 1e-6, geo_decls.h's FPzero/FPeq/...) that every
//! operator uses, so `Value::Geo` carries any of them and the operators are
//! one table of [`Op`]s evaluated by [`eval`]. Float arithmetic checks
//! overflow, underflow and division by zero as float.h's float8_pl/mi/mul/
//! div do; the first such error is recorded in a per-thread cell and
//! reported by [`eval`], which keeps the geometry itself free of `?`.
//! Pure functions: any process may call them.

use std::cell::Cell;

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::types::Oid;
use crate::value::{format_float8, Value};

pub const POINT: Oid = 600;
pub const LSEG: Oid = 601;
pub const PATH: Oid = 602;
pub const BOX: Oid = 603;
pub const POLYGON: Oid = 604;
pub const LINE: Oid = 628;
pub const CIRCLE: Oid = 718;

/// Whether `oid` is one of the geometric types.
pub fn is_geo(oid: Oid) -> bool {
    matches!(oid, POINT | LSEG | PATH | BOX | POLYGON | LINE | CIRCLE)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// `Ax + By + C = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub a: f64,
    pub b: f64,
    pub c: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lseg {
    pub p: [Point; 2],
}

/// Corners kept ordered: `high` is upper right, `low` lower left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GBox {
    pub high: Point,
    pub low: Point,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub closed: bool,
    pub pts: Vec<Point>,
}

/// A polygon and its bounding box (recomputed whenever it is built).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    pub pts: Vec<Point>,
    pub bbox: GBox,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    pub center: Point,
    pub radius: f64,
}

/// One geometric value.
#[derive(Debug, Clone, PartialEq)]
pub enum Geo {
    Point(Point),
    Lseg(Lseg),
    Line(Line),
    Box(GBox),
    Path(Path),
    Polygon(Polygon),
    Circle(Circle),
}

impl Geo {
    /// The value's type OID.
    pub fn oid(&self) -> Oid {
        match self {
            Geo::Point(_) => POINT,
            Geo::Lseg(_) => LSEG,
            Geo::Line(_) => LINE,
            Geo::Box(_) => BOX,
            Geo::Path(_) => PATH,
            Geo::Polygon(_) => POLYGON,
            Geo::Circle(_) => CIRCLE,
        }
    }
}

fn gv(g: Geo) -> Value {
    Value::Geo(Box::new(g))
}

// ---------------------------------------------------------------------
// Fuzzy comparisons (geo_decls.h) and checked float arithmetic (float.h)
// ---------------------------------------------------------------------

const EPSILON: f64 = 1.0e-06;

fn fp_zero(a: f64) -> bool {
    a.abs() <= EPSILON
}
fn fp_eq(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= EPSILON
}
fn fp_ne(a: f64, b: f64) -> bool {
    a != b && (a - b).abs() > EPSILON
}
fn fp_lt(a: f64, b: f64) -> bool {
    b - a > EPSILON
}
fn fp_le(a: f64, b: f64) -> bool {
    a - b <= EPSILON
}
fn fp_gt(a: f64, b: f64) -> bool {
    a - b > EPSILON
}
fn fp_ge(a: f64, b: f64) -> bool {
    b - a <= EPSILON
}

#[derive(Clone, Copy)]
enum FloatErr {
    Overflow,
    Underflow,
    DivZero,
}

thread_local! {
    static FLOAT_ERR: Cell<Option<FloatErr>> = const { Cell::new(None) };
}

fn raise(e: FloatErr) {
    FLOAT_ERR.with(|c| {
        if c.get().is_none() {
            c.set(Some(e))
        }
    });
}

fn pl(a: f64, b: f64) -> f64 {
    let r = a + b;
    if r.is_infinite() && !a.is_infinite() && !b.is_infinite() {
        raise(FloatErr::Overflow);
    }
    r
}
fn mi(a: f64, b: f64) -> f64 {
    let r = a - b;
    if r.is_infinite() && !a.is_infinite() && !b.is_infinite() {
        raise(FloatErr::Overflow);
    }
    r
}
fn mul(a: f64, b: f64) -> f64 {
    let r = a * b;
    if r.is_infinite() && !a.is_infinite() && !b.is_infinite() {
        raise(FloatErr::Overflow);
    }
    if r == 0.0 && a != 0.0 && b != 0.0 {
        raise(FloatErr::Underflow);
    }
    r
}
fn div(a: f64, b: f64) -> f64 {
    if b == 0.0 && !a.is_nan() {
        raise(FloatErr::DivZero);
        return 0.0;
    }
    let r = a / b;
    if r.is_infinite() && !a.is_infinite() {
        raise(FloatErr::Overflow);
    }
    if r == 0.0 && a != 0.0 && !b.is_infinite() {
        raise(FloatErr::Underflow);
    }
    r
}
fn fmin(a: f64, b: f64) -> f64 {
    if float_lt(a, b) {
        a
    } else {
        b
    }
}
fn fmax(a: f64, b: f64) -> f64 {
    if float_gt(a, b) {
        a
    } else {
        b
    }
}
/// float8_lt / float8_gt: NaN sorts above everything.
fn float_lt(a: f64, b: f64) -> bool {
    if a.is_nan() {
        false
    } else {
        b.is_nan() || a < b
    }
}
fn float_gt(a: f64, b: f64) -> bool {
    if a.is_nan() {
        !b.is_nan()
    } else {
        !b.is_nan() && a > b
    }
}
fn float_eq(a: f64, b: f64) -> bool {
    if a.is_nan() {
        b.is_nan()
    } else {
        !b.is_nan() && a == b
    }
}

/// pg_hypot: infinities win over NaN; overflow and underflow checked.
fn hypot(x: f64, y: f64) -> f64 {
    if x.is_infinite() || y.is_infinite() {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    let (mut x, mut y) = (x.abs(), y.abs());
    if x < y {
        std::mem::swap(&mut x, &mut y);
    }
    if y == 0.0 {
        return x;
    }
    let yx = y / x;
    let r = x * (1.0 + yx * yx).sqrt();
    if r.is_infinite() {
        raise(FloatErr::Overflow);
    }
    if r == 0.0 {
        raise(FloatErr::Underflow);
    }
    r
}

// ---------------------------------------------------------------------
// Text input
// ---------------------------------------------------------------------

fn syntax(ty: &str, s: &str) -> PgError {
    PgError::error(
        sqlstate::INVALID_TEXT_REPRESENTATION,
        format!("invalid input syntax for type {ty}: \"{s}\""),
    )
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A cursor over the input, as the C parser's `char *`.
struct Rd<'a> {
    b: &'a [u8],
    i: usize,
    ty: &'static str,
    orig: &'a str,
}

impl Rd<'_> {
    fn peek(&self) -> u8 {
        self.b.get(self.i).copied().unwrap_or(0)
    }
    fn skip_space(&mut self) {
        while is_space(self.peek()) {
            self.i += 1;
        }
    }
    fn fail(&self) -> PgError {
        syntax(self.ty, self.orig)
    }
    /// float8in_internal: white space, a number (or NaN / Infinity),
    /// white space; the cursor stops after it.
    fn float(&mut self) -> Result<f64, PgError> {
        self.skip_space();
        let start = self.i;
        let rest = &self.b[start..];
        let lower: Vec<u8> = rest
            .iter()
            .take(9)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let (sign, off) = match rest.first() {
            Some(b'-') => (-1.0, 1),
            Some(b'+') => (1.0, 1),
            _ => (1.0, 0),
        };
        let word = &lower[off.min(lower.len())..];
        let special = if word.starts_with(b"nan") && off == 0 {
            Some((f64::NAN, 3))
        } else if word.starts_with(b"infinity") {
            Some((sign * f64::INFINITY, off + 8))
        } else if word.starts_with(b"inf") {
            Some((sign * f64::INFINITY, off + 3))
        } else {
            None
        };
        let v = if let Some((v, n)) = special {
            self.i += n;
            v
        } else {
            let mut j = off;
            let mut digits = 0;
            let mut nonzero = false;
            while j < rest.len() && rest[j].is_ascii_digit() {
                nonzero |= rest[j] != b'0';
                j += 1;
                digits += 1;
            }
            if j < rest.len() && rest[j] == b'.' {
                j += 1;
                while j < rest.len() && rest[j].is_ascii_digit() {
                    nonzero |= rest[j] != b'0';
                    j += 1;
                    digits += 1;
                }
            }
            if digits == 0 {
                return Err(self.fail());
            }
            if j < rest.len() && (rest[j] == b'e' || rest[j] == b'E') {
                let mut k = j + 1;
                if k < rest.len() && (rest[k] == b'+' || rest[k] == b'-') {
                    k += 1;
                }
                if k < rest.len() && rest[k].is_ascii_digit() {
                    while k < rest.len() && rest[k].is_ascii_digit() {
                        k += 1;
                    }
                    j = k;
                }
            }
            let text = std::str::from_utf8(&rest[..j]).unwrap_or("0");
            let v: f64 = text.parse().map_err(|_| self.fail())?;
            if v.is_infinite() || (v == 0.0 && nonzero) {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    format!("\"{text}\" is out of range for type double precision"),
                ));
            }
            self.i += j;
            v
        };
        self.skip_space();
        Ok(v)
    }

    /// pair_decode: `x,y` or `(x,y)`, white space after a closing paren.
    fn pair(&mut self) -> Result<Point, PgError> {
        self.skip_space();
        let delim = self.peek() == b'(';
        if delim {
            self.i += 1;
        }
        let x = self.float()?;
        if self.peek() != b',' {
            return Err(self.fail());
        }
        self.i += 1;
        let y = self.float()?;
        if delim {
            if self.peek() != b')' {
                return Err(self.fail());
            }
            self.i += 1;
            self.skip_space();
        }
        Ok(Point { x, y })
    }

    /// path_decode: `npts` pairs, optionally in `[...]` (when `open_ok`)
    /// or `(...)`; returns the points and whether `[` opened them.
    fn path(&mut self, open_ok: bool, npts: usize) -> Result<(Vec<Point>, bool), PgError> {
        let mut depth = 0;
        self.skip_space();
        let open = self.peek() == b'[';
        if open {
            if !open_ok {
                return Err(self.fail());
            }
            depth += 1;
            self.i += 1;
        } else if self.peek() == b'(' {
            let mut cp = self.i + 1;
            while is_space(self.b.get(cp).copied().unwrap_or(0)) {
                cp += 1;
            }
            let last_paren = self.b.iter().rposition(|&c| c == b'(');
            if self.b.get(cp) == Some(&b'(') || last_paren == Some(self.i) {
                depth += 1;
                self.i = cp;
            }
        }
        let mut pts = Vec::with_capacity(npts);
        for _ in 0..npts {
            pts.push(self.pair()?);
            if self.peek() == b',' {
                self.i += 1;
            }
        }
        while depth > 0 {
            let c = self.peek();
            if c == b')' || (c == b']' && open && depth == 1) {
                depth -= 1;
                self.i += 1;
                self.skip_space();
            } else {
                return Err(self.fail());
            }
        }
        Ok((pts, open))
    }

    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }
}

fn reader<'a>(s: &'a str, ty: &'static str) -> Rd<'a> {
    Rd {
        b: s.as_bytes(),
        i: 0,
        ty,
        orig: s,
    }
}

/// pair_count: points in the string from its commas (an odd count).
fn pair_count(s: &str) -> Option<usize> {
    let n = s.bytes().filter(|&c| c == b',').count();
    (n % 2 == 1).then_some(n.div_ceil(2))
}

fn ordered_box(a: Point, b: Point) -> GBox {
    let (hx, lx) = if float_gt(a.x, b.x) {
        (a.x, b.x)
    } else {
        (b.x, a.x)
    };
    let (hy, ly) = if float_gt(a.y, b.y) {
        (a.y, b.y)
    } else {
        (b.y, a.y)
    };
    GBox {
        high: Point { x: hx, y: hy },
        low: Point { x: lx, y: ly },
    }
}

/// box_in's and box_recv's corner reordering (float8_lt).
fn reorder(mut b: GBox) -> GBox {
    if float_lt(b.high.x, b.low.x) {
        std::mem::swap(&mut b.high.x, &mut b.low.x);
    }
    if float_lt(b.high.y, b.low.y) {
        std::mem::swap(&mut b.high.y, &mut b.low.y);
    }
    b
}

fn bound_box(pts: &[Point]) -> GBox {
    let (mut x1, mut y1) = (pts[0].x, pts[0].y);
    let (mut x2, mut y2) = (x1, y1);
    for p in &pts[1..] {
        if float_lt(p.x, x1) {
            x1 = p.x;
        }
        if float_gt(p.x, x2) {
            x2 = p.x;
        }
        if float_lt(p.y, y1) {
            y1 = p.y;
        }
        if float_gt(p.y, y2) {
            y2 = p.y;
        }
    }
    GBox {
        high: Point { x: x2, y: y2 },
        low: Point { x: x1, y: y1 },
    }
}

fn polygon(pts: Vec<Point>) -> Polygon {
    let bbox = bound_box(&pts);
    Polygon { pts, bbox }
}

/// The input function of geometric type `oid`.
pub fn parse(oid: Oid, s: &str) -> Result<Geo, PgError> {
    match oid {
        POINT => {
            let mut r = reader(s, "point");
            let p = r.pair()?;
            if !r.at_end() {
                return Err(r.fail());
            }
            Ok(Geo::Point(p))
        }
        LSEG => {
            let mut r = reader(s, "lseg");
            let (p, _) = r.path(true, 2)?;
            if !r.at_end() {
                return Err(r.fail());
            }
            Ok(Geo::Lseg(Lseg { p: [p[0], p[1]] }))
        }
        BOX => {
            let mut r = reader(s, "box");
            let (p, _) = r.path(false, 2)?;
            if !r.at_end() {
                return Err(r.fail());
            }
            Ok(Geo::Box(reorder(GBox {
                high: p[0],
                low: p[1],
            })))
        }
        LINE => parse_line(s),
        PATH => {
            let mut r = reader(s, "path");
            let npts = pair_count(s).ok_or_else(|| r.fail())?;
            r.skip_space();
            let mut depth = 0;
            if r.peek() == b'(' && s.bytes().rposition(|c| c == b'(') == Some(r.i) {
                r.i += 1;
                depth += 1;
            }
            let (pts, open) = r.path(true, npts)?;
            if depth >= 1 {
                if r.peek() != b')' {
                    return Err(r.fail());
                }
                r.i += 1;
                r.skip_space();
            }
            if !r.at_end() {
                return Err(r.fail());
            }
            Ok(Geo::Path(Path { closed: !open, pts }))
        }
        POLYGON => {
            let mut r = reader(s, "polygon");
            let npts = pair_count(s).ok_or_else(|| r.fail())?;
            let (pts, _) = r.path(false, npts)?;
            if !r.at_end() {
                return Err(r.fail());
            }
            Ok(Geo::Polygon(polygon(pts)))
        }
        _ => parse_circle(s),
    }
}

fn parse_line(s: &str) -> Result<Geo, PgError> {
    let mut r = reader(s, "line");
    r.skip_space();
    if r.peek() == b'{' {
        r.i += 1;
        let a = r.float()?;
        if r.peek() != b',' {
            return Err(r.fail());
        }
        r.i += 1;
        let b = r.float()?;
        if r.peek() != b',' {
            return Err(r.fail());
        }
        r.i += 1;
        let c = r.float()?;
        if r.peek() != b'}' {
            return Err(r.fail());
        }
        r.i += 1;
        r.skip_space();
        if !r.at_end() {
            return Err(r.fail());
        }
        if fp_zero(a) && fp_zero(b) {
            return Err(PgError::error(
                sqlstate::INVALID_TEXT_REPRESENTATION,
                "invalid line specification: A and B cannot both be zero",
            ));
        }
        return Ok(Geo::Line(Line { a, b, c }));
    }
    let (p, _) = r.path(true, 2)?;
    if !r.at_end() {
        return Err(r.fail());
    }
    if point_eq(&p[0], &p[1]) {
        return Err(PgError::error(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            "invalid line specification: must be two distinct points",
        ));
    }
    Ok(Geo::Line(line_construct(&p[0], point_sl(&p[0], &p[1]))))
}

fn parse_circle(s: &str) -> Result<Geo, PgError> {
    let mut r = reader(s, "circle");
    let mut depth = 0;
    r.skip_space();
    if r.peek() == b'<' {
        depth += 1;
        r.i += 1;
    } else if r.peek() == b'(' {
        let mut cp = r.i + 1;
        while is_space(r.b.get(cp).copied().unwrap_or(0)) {
            cp += 1;
        }
        if r.b.get(cp) == Some(&b'(') {
            depth += 1;
            r.i = cp;
        }
    }
    let center = r.pair()?;
    if r.peek() == b',' {
        r.i += 1;
    }
    let radius = r.float()?;
    if radius < 0.0 {
        return Err(r.fail());
    }
    while depth > 0 {
        let c = r.peek();
        if c == b')' || (c == b'>' && depth == 1) {
            depth -= 1;
            r.i += 1;
            r.skip_space();
        } else {
            return Err(r.fail());
        }
    }
    if !r.at_end() {
        return Err(r.fail());
    }
    Ok(Geo::Circle(Circle { center, radius }))
}

// ---------------------------------------------------------------------
// Text output and binary forms
// ---------------------------------------------------------------------

fn push_pair(out: &mut String, p: &Point) {
    out.push('(');
    out.push_str(&format_float8(p.x));
    out.push(',');
    out.push_str(&format_float8(p.y));
    out.push(')');
}

fn push_points(out: &mut String, pts: &[Point]) {
    for (i, p) in pts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_pair(out, p);
    }
}

/// The output function.
pub fn format(g: &Geo) -> String {
    let mut out = String::new();
    match g {
        Geo::Point(p) => push_pair(&mut out, p),
        Geo::Lseg(l) => {
            out.push('[');
            push_points(&mut out, &l.p);
            out.push(']');
        }
        Geo::Box(b) => push_points(&mut out, &[b.high, b.low]),
        Geo::Path(p) => {
            out.push(if p.closed { '(' } else { '[' });
            push_points(&mut out, &p.pts);
            out.push(if p.closed { ')' } else { ']' });
        }
        Geo::Polygon(p) => {
            out.push('(');
            push_points(&mut out, &p.pts);
            out.push(')');
        }
        Geo::Line(l) => {
            out = format!(
                "{{{},{},{}}}",
                format_float8(l.a),
                format_float8(l.b),
                format_float8(l.c)
            );
        }
        Geo::Circle(c) => {
            out.push('<');
            push_pair(&mut out, &c.center);
            out.push(',');
            out.push_str(&format_float8(c.radius));
            out.push('>');
        }
    }
    out
}

fn put(out: &mut Vec<u8>, f: f64) {
    out.extend_from_slice(&f.to_bits().to_be_bytes());
}

/// The send function (PostgreSQL's binary format; also how tusk stores
/// the values on disk).
pub fn send(g: &Geo) -> Vec<u8> {
    let mut out = Vec::new();
    let pts = |out: &mut Vec<u8>, ps: &[Point]| {
        for p in ps {
            put(out, p.x);
            put(out, p.y);
        }
    };
    match g {
        Geo::Point(p) => pts(&mut out, &[*p]),
        Geo::Lseg(l) => pts(&mut out, &l.p),
        Geo::Box(b) => pts(&mut out, &[b.high, b.low]),
        Geo::Line(l) => {
            put(&mut out, l.a);
            put(&mut out, l.b);
            put(&mut out, l.c);
        }
        Geo::Path(p) => {
            out.push(p.closed as u8);
            out.extend_from_slice(&(p.pts.len() as i32).to_be_bytes());
            pts(&mut out, &p.pts);
        }
        Geo::Polygon(p) => {
            out.extend_from_slice(&(p.pts.len() as i32).to_be_bytes());
            pts(&mut out, &p.pts);
        }
        Geo::Circle(c) => {
            put(&mut out, c.center.x);
            put(&mut out, c.center.y);
            put(&mut out, c.radius);
        }
    }
    out
}

fn bad_binary(msg: &str) -> PgError {
    PgError::error(sqlstate::INVALID_BINARY_REPRESENTATION, msg.to_string())
}

/// The receive function.
pub fn recv(oid: Oid, b: &[u8]) -> Result<Geo, PgError> {
    let short = || {
        PgError::error(
            sqlstate::PROTOCOL_VIOLATION,
            "insufficient data left in message",
        )
    };
    let f = |i: usize| -> Result<f64, PgError> {
        let s = b.get(i * 8..i * 8 + 8).ok_or_else(short)?;
        Ok(f64::from_bits(u64::from_be_bytes(
            s.try_into().map_err(|_| short())?,
        )))
    };
    let fixed = |n: usize| -> Result<(), PgError> {
        if b.len() == n * 8 {
            Ok(())
        } else if b.len() < n * 8 {
            Err(short())
        } else {
            Err(bad_binary("incorrect binary data format"))
        }
    };
    let pt = |i: usize| -> Result<Point, PgError> {
        Ok(Point {
            x: f(i * 2)?,
            y: f(i * 2 + 1)?,
        })
    };
    Ok(match oid {
        POINT => {
            fixed(2)?;
            Geo::Point(pt(0)?)
        }
        LSEG => {
            fixed(4)?;
            Geo::Lseg(Lseg {
                p: [pt(0)?, pt(1)?],
            })
        }
        BOX => {
            fixed(4)?;
            Geo::Box(reorder(GBox {
                high: pt(0)?,
                low: pt(1)?,
            }))
        }
        LINE => {
            fixed(3)?;
            let l = Line {
                a: f(0)?,
                b: f(1)?,
                c: f(2)?,
            };
            if fp_zero(l.a) && fp_zero(l.b) {
                return Err(bad_binary(
                    "invalid line specification: A and B cannot both be zero",
                ));
            }
            Geo::Line(l)
        }
        CIRCLE => {
            fixed(3)?;
            let c = Circle {
                center: pt(0)?,
                radius: f(2)?,
            };
            if c.radius < 0.0 {
                return Err(bad_binary("invalid radius in external \"circle\" value"));
            }
            Geo::Circle(c)
        }
        PATH | POLYGON => {
            let (closed, rest) = if oid == PATH {
                let (c, r) = b.split_first().ok_or_else(short)?;
                (*c != 0, r)
            } else {
                (true, b)
            };
            let n = i32::from_be_bytes(
                rest.get(..4)
                    .ok_or_else(short)?
                    .try_into()
                    .unwrap_or([0; 4]),
            );
            let what = if oid == PATH { "path" } else { "polygon" };
            if n <= 0 || n as usize > rest.len() {
                return Err(bad_binary(&format!(
                    "invalid number of points in external \"{what}\" value"
                )));
            }
            let body = &rest[4..];
            if body.len() != n as usize * 16 {
                return Err(short());
            }
            let pts: Vec<Point> = body
                .chunks_exact(16)
                .map(|c| Point {
                    x: f64::from_bits(u64::from_be_bytes(c[..8].try_into().unwrap_or([0; 8]))),
                    y: f64::from_bits(u64::from_be_bytes(c[8..].try_into().unwrap_or([0; 8]))),
                })
                .collect();
            if oid == PATH {
                Geo::Path(Path { closed, pts })
            } else {
                Geo::Polygon(polygon(pts))
            }
        }
        _ => return Err(bad_binary("not a geometric type")),
    })
}

// ---------------------------------------------------------------------
// Geometry (geo_ops.c's internal routines)
// ---------------------------------------------------------------------

fn pt(x: f64, y: f64) -> Point {
    Point { x, y }
}

fn point_eq(a: &Point, b: &Point) -> bool {
    if a.x.is_nan() || a.y.is_nan() || b.x.is_nan() || b.y.is_nan() {
        return float_eq(a.x, b.x) && float_eq(a.y, b.y);
    }
    fp_eq(a.x, b.x) && fp_eq(a.y, b.y)
}

fn point_dt(a: &Point, b: &Point) -> f64 {
    hypot(mi(a.x, b.x), mi(a.y, b.y))
}

fn point_sl(a: &Point, b: &Point) -> f64 {
    if fp_eq(a.x, b.x) {
        return f64::INFINITY;
    }
    if fp_eq(a.y, b.y) {
        return 0.0;
    }
    div(mi(a.y, b.y), mi(a.x, b.x))
}

fn point_invsl(a: &Point, b: &Point) -> f64 {
    if fp_eq(a.x, b.x) {
        return 0.0;
    }
    if fp_eq(a.y, b.y) {
        return f64::INFINITY;
    }
    div(mi(a.x, b.x), mi(b.y, a.y))
}

fn padd(a: &Point, b: &Point) -> Point {
    pt(pl(a.x, b.x), pl(a.y, b.y))
}
fn psub(a: &Point, b: &Point) -> Point {
    pt(mi(a.x, b.x), mi(a.y, b.y))
}
fn pmul(a: &Point, b: &Point) -> Point {
    pt(
        mi(mul(a.x, b.x), mul(a.y, b.y)),
        pl(mul(a.x, b.y), mul(a.y, b.x)),
    )
}
fn pdiv(a: &Point, b: &Point) -> Point {
    let d = pl(mul(b.x, b.x), mul(b.y, b.y));
    pt(
        div(pl(mul(a.x, b.x), mul(a.y, b.y)), d),
        div(mi(mul(a.y, b.x), mul(a.x, b.y)), d),
    )
}

fn line_construct(p: &Point, m: f64) -> Line {
    if m.is_infinite() {
        Line {
            a: -1.0,
            b: 0.0,
            c: p.x,
        }
    } else if m == 0.0 {
        Line {
            a: 0.0,
            b: -1.0,
            c: p.y,
        }
    } else {
        let c = mi(p.y, mul(m, p.x));
        Line {
            a: m,
            b: -1.0,
            c: if c == 0.0 { 0.0 } else { c },
        }
    }
}

fn line_sl(l: &Line) -> f64 {
    if fp_zero(l.a) {
        0.0
    } else if fp_zero(l.b) {
        f64::INFINITY
    } else {
        div(l.a, -l.b)
    }
}

fn line_invsl(l: &Line) -> f64 {
    if fp_zero(l.a) {
        f64::INFINITY
    } else if fp_zero(l.b) {
        0.0
    } else {
        div(l.b, l.a)
    }
}

fn line_interpt(l1: &Line, l2: &Line) -> Option<Point> {
    let (x, y);
    if !fp_zero(l1.b) {
        if fp_eq(l2.a, mul(l1.a, div(l2.b, l1.b))) {
            return None;
        }
        x = div(
            mi(mul(l1.b, l2.c), mul(l2.b, l1.c)),
            mi(mul(l1.a, l2.b), mul(l2.a, l1.b)),
        );
        y = div(-pl(mul(l1.a, x), l1.c), l1.b);
    } else if !fp_zero(l2.b) {
        if fp_eq(l1.a, mul(l2.a, div(l1.b, l2.b))) {
            return None;
        }
        x = div(
            mi(mul(l2.b, l1.c), mul(l1.b, l2.c)),
            mi(mul(l2.a, l1.b), mul(l1.a, l2.b)),
        );
        y = div(-pl(mul(l2.a, x), l2.c), l2.b);
    } else {
        return None;
    }
    Some(pt(
        if x == 0.0 { 0.0 } else { x },
        if y == 0.0 { 0.0 } else { y },
    ))
}

fn line_contain_point(l: &Line, p: &Point) -> bool {
    fp_zero(pl(pl(mul(l.a, p.x), mul(l.b, p.y)), l.c))
}

fn line_closept_point(l: &Line, p: &Point) -> (f64, Point) {
    let tmp = line_construct(p, line_invsl(l));
    match line_interpt(&tmp, l) {
        Some(c) => (point_dt(&c, p), c),
        None => (f64::NAN, *p),
    }
}

fn line_eq(l1: &Line, l2: &Line) -> bool {
    if [l1.a, l1.b, l1.c, l2.a, l2.b, l2.c]
        .iter()
        .any(|v| v.is_nan())
    {
        return float_eq(l1.a, l2.a) && float_eq(l1.b, l2.b) && float_eq(l1.c, l2.c);
    }
    let ratio = if !fp_zero(l2.a) {
        div(l1.a, l2.a)
    } else if !fp_zero(l2.b) {
        div(l1.b, l2.b)
    } else if !fp_zero(l2.c) {
        div(l1.c, l2.c)
    } else {
        1.0
    };
    fp_eq(l1.a, mul(ratio, l2.a)) && fp_eq(l1.b, mul(ratio, l2.b)) && fp_eq(l1.c, mul(ratio, l2.c))
}

fn line_distance(l1: &Line, l2: &Line) -> f64 {
    if line_interpt(l1, l2).is_some() {
        return 0.0;
    }
    let ratio = if !fp_zero(l1.a) && !l1.a.is_nan() && !fp_zero(l2.a) && !l2.a.is_nan() {
        div(l1.a, l2.a)
    } else if !fp_zero(l1.b) && !l1.b.is_nan() && !fp_zero(l2.b) && !l2.b.is_nan() {
        div(l1.b, l2.b)
    } else {
        1.0
    };
    div(mi(l1.c, mul(ratio, l2.c)).abs(), hypot(l1.a, l1.b))
}

fn line_perp(l1: &Line, l2: &Line) -> bool {
    if fp_zero(l1.a) {
        return fp_zero(l2.b);
    }
    if fp_zero(l2.a) {
        return fp_zero(l1.b);
    }
    if fp_zero(l1.b) {
        return fp_zero(l2.a);
    }
    if fp_zero(l2.b) {
        return fp_zero(l1.a);
    }
    fp_eq(div(mul(l1.a, l2.a), mul(l1.b, l2.b)), -1.0)
}

fn lseg_sl(l: &Lseg) -> f64 {
    point_sl(&l.p[0], &l.p[1])
}

fn lseg_contain_point(l: &Lseg, p: &Point) -> bool {
    fp_eq(
        point_dt(p, &l.p[0]) + point_dt(p, &l.p[1]),
        point_dt(&l.p[0], &l.p[1]),
    )
}

fn lseg_interpt_line(s: &Lseg, l: &Line) -> Option<Point> {
    let tmp = line_construct(&s.p[0], lseg_sl(s));
    let p = line_interpt(&tmp, l)?;
    if !lseg_contain_point(s, &p) {
        return None;
    }
    Some(if point_eq(&s.p[0], &p) {
        s.p[0]
    } else if point_eq(&s.p[1], &p) {
        s.p[1]
    } else {
        p
    })
}

fn lseg_interpt_lseg(l1: &Lseg, l2: &Lseg) -> Option<Point> {
    let tmp = line_construct(&l2.p[0], lseg_sl(l2));
    let p = lseg_interpt_line(l1, &tmp)?;
    lseg_contain_point(l2, &p).then_some(p)
}

fn lseg_closept_line(s: &Lseg, l: &Line) -> (f64, Point) {
    if let Some(p) = lseg_interpt_line(s, l) {
        return (0.0, p);
    }
    let d1 = line_closept_point(l, &s.p[0]).0;
    let d2 = line_closept_point(l, &s.p[1]).0;
    if d1 < d2 {
        (d1, s.p[0])
    } else {
        (d2, s.p[1])
    }
}

fn lseg_closept_point(s: &Lseg, p: &Point) -> (f64, Point) {
    let tmp = line_construct(p, point_invsl(&s.p[0], &s.p[1]));
    let (_, c) = lseg_closept_line(s, &tmp);
    (point_dt(&c, p), c)
}

fn lseg_closept_lseg(on: &Lseg, to: &Lseg) -> (f64, Point) {
    if let Some(p) = lseg_interpt_lseg(on, to) {
        return (0.0, p);
    }
    let (mut dist, mut res) = lseg_closept_point(on, &to.p[0]);
    let (d, p) = lseg_closept_point(on, &to.p[1]);
    if float_lt(d, dist) {
        dist = d;
        res = p;
    }
    let d = lseg_closept_point(to, &on.p[0]).0;
    if float_lt(d, dist) {
        dist = d;
        res = on.p[0];
    }
    let d = lseg_closept_point(to, &on.p[1]).0;
    if float_lt(d, dist) {
        dist = d;
        res = on.p[1];
    }
    (dist, res)
}

fn seg(a: Point, b: Point) -> Lseg {
    Lseg { p: [a, b] }
}

fn box_cn(b: &GBox) -> Point {
    pt(
        div(pl(b.high.x, b.low.x), 2.0),
        div(pl(b.high.y, b.low.y), 2.0),
    )
}
fn box_wd(b: &GBox) -> f64 {
    mi(b.high.x, b.low.x)
}
fn box_ht(b: &GBox) -> f64 {
    mi(b.high.y, b.low.y)
}
fn box_ar(b: &GBox) -> f64 {
    mul(box_wd(b), box_ht(b))
}
fn box_ov(a: &GBox, b: &GBox) -> bool {
    fp_le(a.low.x, b.high.x)
        && fp_le(b.low.x, a.high.x)
        && fp_le(a.low.y, b.high.y)
        && fp_le(b.low.y, a.high.y)
}
fn box_contain_box(a: &GBox, b: &GBox) -> bool {
    fp_ge(a.high.x, b.high.x)
        && fp_le(a.low.x, b.low.x)
        && fp_ge(a.high.y, b.high.y)
        && fp_le(a.low.y, b.low.y)
}
fn box_contain_point(b: &GBox, p: &Point) -> bool {
    b.high.x >= p.x && b.low.x <= p.x && b.high.y >= p.y && b.low.y <= p.y
}

/// The four sides in box_closept_point's order.
fn box_sides(b: &GBox) -> [Lseg; 4] {
    let ul = pt(b.low.x, b.high.y);
    let lr = pt(b.high.x, b.low.y);
    [
        seg(b.low, ul),
        seg(b.high, ul),
        seg(b.low, lr),
        seg(b.high, lr),
    ]
}

fn box_closept_point(b: &GBox, p: &Point) -> (f64, Point) {
    if box_contain_point(b, p) {
        return (0.0, *p);
    }
    let sides = box_sides(b);
    let (mut dist, mut res) = lseg_closept_point(&sides[0], p);
    for s in &sides[1..] {
        let (d, c) = lseg_closept_point(s, p);
        if float_lt(d, dist) {
            dist = d;
            res = c;
        }
    }
    (dist, res)
}

fn box_interpt_lseg(b: &GBox, s: &Lseg) -> Option<Point> {
    let lbox = GBox {
        low: pt(fmin(s.p[0].x, s.p[1].x), fmin(s.p[0].y, s.p[1].y)),
        high: pt(fmax(s.p[0].x, s.p[1].x), fmax(s.p[0].y, s.p[1].y)),
    };
    if !box_ov(&lbox, b) {
        return None;
    }
    let res = lseg_closept_point(s, &box_cn(b)).1;
    if box_contain_point(b, &s.p[0]) || box_contain_point(b, &s.p[1]) {
        return Some(res);
    }
    box_sides(b)
        .iter()
        .any(|side| lseg_interpt_lseg(side, s).is_some())
        .then_some(res)
}

fn box_closept_lseg(b: &GBox, s: &Lseg) -> (f64, Point) {
    if let Some(p) = box_interpt_lseg(b, s) {
        return (0.0, p);
    }
    let sides = box_sides(b);
    let (mut dist, mut res) = lseg_closept_lseg(&sides[0], s);
    for side in &sides[1..] {
        let (d, c) = lseg_closept_lseg(side, s);
        if float_lt(d, dist) {
            dist = d;
            res = c;
        }
    }
    (dist, res)
}

fn inter_lb(l: &Line, b: &GBox) -> bool {
    let p1 = pt(b.low.x, b.low.y);
    let p2 = pt(b.low.x, b.high.y);
    let p3 = pt(b.high.x, b.high.y);
    let p4 = pt(b.high.x, b.low.y);
    [seg(p1, p2), seg(p3, p2), seg(p3, p4), seg(p1, p4)]
        .iter()
        .any(|s| lseg_interpt_line(s, l).is_some())
}

/// The segments of a path (with the closing one when closed), in
/// geo_ops.c's iteration order.
fn path_segments(p: &Path) -> Vec<Lseg> {
    let n = p.pts.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        if i > 0 {
            out.push(seg(p.pts[i - 1], p.pts[i]));
        } else if p.closed {
            out.push(seg(p.pts[n - 1], p.pts[0]));
        }
    }
    out
}

fn lseg_crossing(x: f64, y: f64, px: f64, py: f64) -> i32 {
    const ON: i32 = i32::MAX;
    if fp_zero(y) {
        if fp_zero(x) {
            ON
        } else if fp_gt(x, 0.0) {
            if fp_zero(py) {
                return if fp_gt(px, 0.0) { 0 } else { ON };
            }
            if fp_lt(py, 0.0) {
                1
            } else {
                -1
            }
        } else {
            if fp_zero(py) {
                return if fp_lt(px, 0.0) { 0 } else { ON };
            }
            0
        }
    } else {
        let ys = if fp_gt(y, 0.0) { 1 } else { -1 };
        if fp_zero(py) {
            if fp_lt(px, 0.0) {
                0
            } else {
                ys
            }
        } else if (ys < 0 && fp_lt(py, 0.0)) || (ys > 0 && fp_gt(py, 0.0)) {
            0
        } else {
            if fp_ge(x, 0.0) && fp_gt(px, 0.0) {
                return 2 * ys;
            }
            if fp_lt(x, 0.0) && fp_le(px, 0.0) {
                return 0;
            }
            let z = mi(mul(mi(x, px), y), mul(mi(y, py), x));
            if fp_zero(z) {
                return ON;
            }
            if (ys < 0 && fp_lt(z, 0.0)) || (ys > 0 && fp_gt(z, 0.0)) {
                0
            } else {
                2 * ys
            }
        }
    }
}

/// 0 outside, 1 inside, 2 on the border.
fn point_inside(p: &Point, list: &[Point]) -> i32 {
    let x0 = mi(list[0].x, p.x);
    let y0 = mi(list[0].y, p.y);
    let (mut px, mut py) = (x0, y0);
    let mut total = 0i32;
    for q in &list[1..] {
        let x = mi(q.x, p.x);
        let y = mi(q.y, p.y);
        let c = lseg_crossing(x, y, px, py);
        if c == i32::MAX {
            return 2;
        }
        total += c;
        px = x;
        py = y;
    }
    let c = lseg_crossing(x0, y0, px, py);
    if c == i32::MAX {
        return 2;
    }
    total += c;
    (total != 0) as i32
}

fn on_ppath(p: &Point, path: &Path) -> bool {
    if !path.closed {
        let mut a = point_dt(p, &path.pts[0]);
        for i in 0..path.pts.len() - 1 {
            let b = point_dt(p, &path.pts[i + 1]);
            if fp_eq(pl(a, b), point_dt(&path.pts[i], &path.pts[i + 1])) {
                return true;
            }
            a = b;
        }
        return false;
    }
    point_inside(p, &path.pts) != 0
}

fn dist_ppath(p: &Point, path: &Path) -> f64 {
    let mut best: Option<f64> = None;
    for s in path_segments(path) {
        let d = lseg_closept_point(&s, p).0;
        if best.is_none_or(|b| float_lt(d, b)) {
            best = Some(d);
        }
    }
    best.unwrap_or(0.0)
}

fn dist_ppoly(p: &Point, poly: &Polygon) -> f64 {
    if point_inside(p, &poly.pts) != 0 {
        return 0.0;
    }
    let n = poly.pts.len();
    let mut res = lseg_closept_point(&seg(poly.pts[0], poly.pts[n - 1]), p).0;
    for i in 0..n - 1 {
        let d = lseg_closept_point(&seg(poly.pts[i], poly.pts[i + 1]), p).0;
        if float_lt(d, res) {
            res = d;
        }
    }
    res
}

fn path_inter(p1: &Path, p2: &Path) -> bool {
    let b1 = bound_box(&p1.pts);
    let b2 = bound_box(&p2.pts);
    if !box_ov(&b1, &b2) {
        return false;
    }
    let s2 = path_segments(p2);
    path_segments(p1)
        .iter()
        .any(|a| s2.iter().any(|b| lseg_interpt_lseg(a, b).is_some()))
}

fn path_distance(p1: &Path, p2: &Path) -> Option<f64> {
    let mut best: Option<f64> = None;
    let s2 = path_segments(p2);
    for a in path_segments(p1) {
        for b in &s2 {
            let d = lseg_closept_lseg(&a, b).0;
            if best.is_none_or(|m| float_lt(d, m)) {
                best = Some(d);
            }
        }
    }
    best
}

fn path_length(p: &Path) -> f64 {
    path_segments(p)
        .iter()
        .fold(0.0, |acc, s| pl(acc, point_dt(&s.p[0], &s.p[1])))
}

fn path_area(p: &Path) -> Option<f64> {
    if !p.closed {
        return None;
    }
    let n = p.pts.len();
    let mut area = 0.0;
    for i in 0..n {
        let j = (i + 1) % n;
        area = pl(area, mul(p.pts[i].x, p.pts[j].y));
        area = mi(area, mul(p.pts[i].y, p.pts[j].x));
    }
    Some(div(area.abs(), 2.0))
}

fn poly_overlap(a: &Polygon, b: &Polygon) -> bool {
    if !box_ov(&a.bbox, &b.bbox) {
        return false;
    }
    let (na, nb) = (a.pts.len(), b.pts.len());
    let mut sa0 = a.pts[na - 1];
    for ia in 0..na {
        let sa = seg(sa0, a.pts[ia]);
        let mut sb0 = b.pts[nb - 1];
        for ib in 0..nb {
            if lseg_interpt_lseg(&sa, &seg(sb0, b.pts[ib])).is_some() {
                return true;
            }
            sb0 = b.pts[ib];
        }
        sa0 = a.pts[ia];
    }
    point_inside(&a.pts[0], &b.pts) != 0 || point_inside(&b.pts[0], &a.pts) != 0
}

fn touched_lseg_inside_poly(a: &Point, b: &Point, s: &Lseg, poly: &Polygon, start: usize) -> bool {
    let t = seg(*a, *b);
    if point_eq(a, &s.p[0]) {
        if lseg_contain_point(&t, &s.p[1]) {
            return lseg_inside_poly(b, &s.p[1], poly, start);
        }
    } else if point_eq(a, &s.p[1]) {
        if lseg_contain_point(&t, &s.p[0]) {
            return lseg_inside_poly(b, &s.p[0], poly, start);
        }
    } else if lseg_contain_point(&t, &s.p[0]) {
        return lseg_inside_poly(b, &s.p[0], poly, start);
    } else if lseg_contain_point(&t, &s.p[1]) {
        return lseg_inside_poly(b, &s.p[1], poly, start);
    }
    true
}

fn lseg_inside_poly(a: &Point, b: &Point, poly: &Polygon, start: usize) -> bool {
    let n = poly.pts.len();
    let t = seg(*a, *b);
    let mut s0 = poly.pts[if start == 0 { n - 1 } else { start - 1 }];
    let mut res = true;
    let mut intersection = false;
    let mut i = start;
    while i < n && res {
        let s = seg(s0, poly.pts[i]);
        if lseg_contain_point(&s, &t.p[0]) {
            if lseg_contain_point(&s, &t.p[1]) {
                return true;
            }
            res = touched_lseg_inside_poly(&t.p[0], &t.p[1], &s, poly, i + 1);
        } else if lseg_contain_point(&s, &t.p[1]) {
            res = touched_lseg_inside_poly(&t.p[1], &t.p[0], &s, poly, i + 1);
        } else if let Some(ip) = lseg_interpt_lseg(&t, &s) {
            intersection = true;
            res = lseg_inside_poly(&t.p[0], &ip, poly, i + 1);
            if res {
                res = lseg_inside_poly(&t.p[1], &ip, poly, i + 1);
            }
        }
        s0 = s.p[1];
        i += 1;
    }
    if res && !intersection {
        let p = pt(
            div(pl(t.p[0].x, t.p[1].x), 2.0),
            div(pl(t.p[0].y, t.p[1].y), 2.0),
        );
        res = point_inside(&p, &poly.pts) != 0;
    }
    res
}

fn poly_contain_poly(a: &Polygon, b: &Polygon) -> bool {
    if !box_contain_box(&a.bbox, &b.bbox) {
        return false;
    }
    let n = b.pts.len();
    let mut s0 = b.pts[n - 1];
    for p in &b.pts {
        if !lseg_inside_poly(&s0, p, a, 0) {
            return false;
        }
        s0 = *p;
    }
    true
}

fn plist_same(p1: &[Point], p2: &[Point]) -> bool {
    let n = p1.len();
    for i in 0..n {
        if !point_eq(&p2[i], &p1[0]) {
            continue;
        }
        let fwd = (1..n).all(|ii| point_eq(&p2[(i + ii) % n], &p1[ii]));
        if fwd {
            return true;
        }
        let back = (1..n).all(|ii| point_eq(&p2[(i + n - ii) % n], &p1[ii]));
        if back {
            return true;
        }
    }
    false
}

fn poly_distance(a: &Polygon, b: &Polygon) -> f64 {
    if poly_overlap(a, b) {
        return 0.0;
    }
    let pa = Path {
        closed: true,
        pts: a.pts.clone(),
    };
    let pb = Path {
        closed: true,
        pts: b.pts.clone(),
    };
    path_distance(&pa, &pb).unwrap_or(0.0)
}

fn poly_to_circle(p: &Polygon) -> Circle {
    let n = p.pts.len() as f64;
    let mut c = pt(0.0, 0.0);
    for q in &p.pts {
        c = padd(&c, q);
    }
    let c = pt(div(c.x, n), div(c.y, n));
    let mut r = 0.0;
    for q in &p.pts {
        r = pl(r, point_dt(q, &c));
    }
    Circle {
        center: c,
        radius: div(r, n),
    }
}

fn circle_ar(c: &Circle) -> f64 {
    mul(mul(c.radius, c.radius), std::f64::consts::PI)
}

fn circle_poly(npts: i32, c: &Circle) -> Result<Polygon, PgError> {
    if fp_zero(c.radius) {
        return Err(PgError::error(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "cannot convert circle with radius zero to polygon",
        ));
    }
    if npts < 2 {
        return Err(PgError::error(
            sqlstate::INVALID_PARAMETER_VALUE,
            "must request at least 2 points",
        ));
    }
    let step = div(2.0 * std::f64::consts::PI, npts as f64);
    let pts = (0..npts)
        .map(|i| {
            let angle = mul(step, i as f64);
            pt(
                mi(c.center.x, mul(c.radius, angle.cos())),
                pl(c.center.y, mul(c.radius, angle.sin())),
            )
        })
        .collect();
    Ok(polygon(pts))
}

fn box_poly(b: &GBox) -> Polygon {
    Polygon {
        pts: vec![b.low, pt(b.low.x, b.high.y), b.high, pt(b.high.x, b.low.y)],
        bbox: ordered_box(b.high, b.low),
    }
}

fn circle_box(c: &Circle) -> GBox {
    let d = div(c.radius, 2.0f64.sqrt());
    GBox {
        high: pt(pl(c.center.x, d), pl(c.center.y, d)),
        low: pt(mi(c.center.x, d), mi(c.center.y, d)),
    }
}

fn box_circle(b: &GBox) -> Circle {
    let center = box_cn(b);
    Circle {
        radius: point_dt(&center, &b.high),
        center,
    }
}

// ---------------------------------------------------------------------
// Operators and functions
// ---------------------------------------------------------------------

/// Every geometric operator and function (PostgreSQL's pg_proc names in
/// the comments where they differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    // point
    PointAdd,
    PointSub,
    PointMul,
    PointDiv,
    PointLeft,
    PointRight,
    PointAbove,
    PointBelow,
    PointVert,
    PointHoriz,
    PointSame,
    PointNe,
    PointDistance,
    PointSlope,
    PointX,
    PointY,
    ConstructPoint,
    // lseg
    LsegConstruct,
    LsegLength,
    LsegIntersect,
    LsegParallel,
    LsegPerp,
    LsegVertical,
    LsegHorizontal,
    LsegEq,
    LsegNe,
    LsegLt,
    LsegLe,
    LsegGt,
    LsegGe,
    LsegDistance,
    LsegCenter,
    LsegInterpt,
    // line
    LineConstructPp,
    LineIntersect,
    LineParallel,
    LinePerp,
    LineVertical,
    LineHorizontal,
    LineEq,
    LineDistance,
    LineInterpt,
    // box
    BoxSame,
    BoxOverlap,
    BoxLeft,
    BoxOverleft,
    BoxRight,
    BoxOverright,
    BoxBelow,
    BoxOverbelow,
    BoxAbove,
    BoxOverabove,
    BoxContained,
    BoxContain,
    BoxBelowEq,
    BoxAboveEq,
    BoxLt,
    BoxGt,
    BoxEq,
    BoxLe,
    BoxGe,
    BoxArea,
    BoxWidth,
    BoxHeight,
    BoxDistance,
    BoxCenter,
    BoxIntersect,
    BoxDiagonal,
    PointsBox,
    BoxAdd,
    BoxSub,
    BoxMul,
    BoxDiv,
    PointBox,
    BoundBox,
    BoxPoly,
    BoxCircle,
    BoxContainPt,
    // path
    PathArea,
    PathNLt,
    PathNGt,
    PathNEq,
    PathNLe,
    PathNGe,
    PathIsClosed,
    PathIsOpen,
    PathNpoints,
    PathClose,
    PathOpen,
    PathInter,
    PathDistance,
    PathLength,
    PathAdd,
    PathAddPt,
    PathSubPt,
    PathMulPt,
    PathDivPt,
    PathPoly,
    PathContainPt,
    // polygon
    PolyLeft,
    PolyOverleft,
    PolyRight,
    PolyOverright,
    PolyBelow,
    PolyOverbelow,
    PolyAbove,
    PolyOverabove,
    PolySame,
    PolyOverlap,
    PolyContain,
    PolyContained,
    PolyContainPt,
    PtContainedPoly,
    PolyDistance,
    PolyNpoints,
    PolyCenter,
    PolyBox,
    PolyPath,
    PolyCircle,
    // circle
    CircleSame,
    CircleOverlap,
    CircleOverleft,
    CircleLeft,
    CircleRight,
    CircleOverright,
    CircleContained,
    CircleContain,
    CircleBelow,
    CircleAbove,
    CircleOverbelow,
    CircleOverabove,
    CircleEq,
    CircleNe,
    CircleLt,
    CircleGt,
    CircleLe,
    CircleGe,
    CircleAddPt,
    CircleSubPt,
    CircleMulPt,
    CircleDivPt,
    CircleArea,
    CircleDiameter,
    CircleRadius,
    CircleDistance,
    CircleContainPt,
    PtContainedCircle,
    CircleCenter,
    CrCircle,
    CircleBox,
    CirclePoly,
    CirclePolyN,
    // mixed
    DistPl,
    DistLp,
    DistPs,
    DistSp,
    DistPpath,
    DistPathp,
    DistPb,
    DistBp,
    DistSl,
    DistLs,
    DistSb,
    DistBs,
    DistCpoly,
    DistPolyc,
    DistPpoly,
    DistPolyp,
    DistPc,
    DistCpoint,
    ClosePl,
    ClosePs,
    CloseLseg,
    ClosePb,
    CloseLs,
    CloseSb,
    OnPl,
    OnPs,
    OnPb,
    OnPpath,
    OnSl,
    OnSb,
    InterSl,
    InterSb,
    InterLb,
    /// `point[i]`, `lseg[i]`, `box[i]` (index in the second argument).
    Subscript,
}

fn arg(v: &Value) -> Option<&Geo> {
    match v {
        Value::Geo(g) => Some(g),
        _ => None,
    }
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Float8(f) => *f,
        Value::Float4(f) => *f as f64,
        Value::Int2(i) => *i as f64,
        Value::Int4(i) => *i as f64,
        Value::Int8(i) => *i as f64,
        _ => 0.0,
    }
}

fn wrong() -> PgError {
    PgError::error(
        sqlstate::INTERNAL_ERROR,
        "geometric operator applied to an argument of the wrong type",
    )
}

/// Evaluate one operator or function on non-NULL arguments; a NULL
/// result is `Value::Null`.
pub fn eval(op: Op, args: &[Value]) -> Result<Value, PgError> {
    FLOAT_ERR.with(|c| c.set(None));
    let r = eval_inner(op, args);
    match FLOAT_ERR.with(|c| c.take()) {
        Some(FloatErr::Overflow) => Err(crate::cast::float_overflow()),
        Some(FloatErr::Underflow) => Err(crate::cast::float_underflow()),
        Some(FloatErr::DivZero) => Err(PgError::error(
            sqlstate::DIVISION_BY_ZERO,
            "division by zero",
        )),
        None => r,
    }
}

macro_rules! get {
    ($args:expr, $i:expr, $variant:ident) => {
        match $args.get($i).and_then(arg) {
            Some(Geo::$variant(x)) => x,
            _ => return Err(wrong()),
        }
    };
}

fn eval_inner(op: Op, a: &[Value]) -> Result<Value, PgError> {
    use Op::*;
    let b = Value::Bool;
    let f = Value::Float8;
    let point = |p: Point| gv(Geo::Point(p));
    let opt_point = |p: Option<Point>| p.map_or(Value::Null, |p| gv(Geo::Point(p)));
    let gbox = |b: GBox| gv(Geo::Box(b));
    Ok(match op {
        PointAdd => point(padd(get!(a, 0, Point), get!(a, 1, Point))),
        PointSub => point(psub(get!(a, 0, Point), get!(a, 1, Point))),
        PointMul => point(pmul(get!(a, 0, Point), get!(a, 1, Point))),
        PointDiv => point(pdiv(get!(a, 0, Point), get!(a, 1, Point))),
        PointLeft => b(fp_lt(get!(a, 0, Point).x, get!(a, 1, Point).x)),
        PointRight => b(fp_gt(get!(a, 0, Point).x, get!(a, 1, Point).x)),
        PointAbove => b(fp_gt(get!(a, 0, Point).y, get!(a, 1, Point).y)),
        PointBelow => b(fp_lt(get!(a, 0, Point).y, get!(a, 1, Point).y)),
        PointVert => b(fp_eq(get!(a, 0, Point).x, get!(a, 1, Point).x)),
        PointHoriz => b(fp_eq(get!(a, 0, Point).y, get!(a, 1, Point).y)),
        PointSame => b(point_eq(get!(a, 0, Point), get!(a, 1, Point))),
        PointNe => b(!point_eq(get!(a, 0, Point), get!(a, 1, Point))),
        PointDistance => f(point_dt(get!(a, 0, Point), get!(a, 1, Point))),
        PointSlope => f(point_sl(get!(a, 0, Point), get!(a, 1, Point))),
        PointX => f(get!(a, 0, Point).x),
        PointY => f(get!(a, 0, Point).y),
        ConstructPoint => point(pt(num(&a[0]), num(&a[1]))),
        LsegConstruct => gv(Geo::Lseg(seg(*get!(a, 0, Point), *get!(a, 1, Point)))),
        LsegLength => {
            let l = get!(a, 0, Lseg);
            f(point_dt(&l.p[0], &l.p[1]))
        }
        LsegIntersect => b(lseg_interpt_lseg(get!(a, 0, Lseg), get!(a, 1, Lseg)).is_some()),
        LsegParallel => b(fp_eq(lseg_sl(get!(a, 0, Lseg)), lseg_sl(get!(a, 1, Lseg)))),
        LsegPerp => {
            let l2 = get!(a, 1, Lseg);
            b(fp_eq(
                lseg_sl(get!(a, 0, Lseg)),
                point_invsl(&l2.p[0], &l2.p[1]),
            ))
        }
        LsegVertical => {
            let l = get!(a, 0, Lseg);
            b(fp_eq(l.p[0].x, l.p[1].x))
        }
        LsegHorizontal => {
            let l = get!(a, 0, Lseg);
            b(fp_eq(l.p[0].y, l.p[1].y))
        }
        LsegEq | LsegNe => {
            let (l1, l2) = (get!(a, 0, Lseg), get!(a, 1, Lseg));
            let eq = point_eq(&l1.p[0], &l2.p[0]) && point_eq(&l1.p[1], &l2.p[1]);
            b(eq == (op == LsegEq))
        }
        LsegLt | LsegLe | LsegGt | LsegGe => {
            let (l1, l2) = (get!(a, 0, Lseg), get!(a, 1, Lseg));
            let (x, y) = (point_dt(&l1.p[0], &l1.p[1]), point_dt(&l2.p[0], &l2.p[1]));
            b(match op {
                LsegLt => fp_lt(x, y),
                LsegLe => fp_le(x, y),
                LsegGt => fp_gt(x, y),
                _ => fp_ge(x, y),
            })
        }
        LsegDistance => f(lseg_closept_lseg(get!(a, 0, Lseg), get!(a, 1, Lseg)).0),
        LsegCenter => {
            let l = get!(a, 0, Lseg);
            point(pt(
                div(pl(l.p[0].x, l.p[1].x), 2.0),
                div(pl(l.p[0].y, l.p[1].y), 2.0),
            ))
        }
        LsegInterpt => opt_point(lseg_interpt_lseg(get!(a, 0, Lseg), get!(a, 1, Lseg))),
        LineConstructPp => {
            let (p1, p2) = (get!(a, 0, Point), get!(a, 1, Point));
            if point_eq(p1, p2) {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "invalid line specification: must be two distinct points",
                ));
            }
            gv(Geo::Line(line_construct(p1, point_sl(p1, p2))))
        }
        LineIntersect => b(line_interpt(get!(a, 0, Line), get!(a, 1, Line)).is_some()),
        LineParallel => b(line_interpt(get!(a, 0, Line), get!(a, 1, Line)).is_none()),
        LinePerp => b(line_perp(get!(a, 0, Line), get!(a, 1, Line))),
        LineVertical => b(fp_zero(get!(a, 0, Line).b)),
        LineHorizontal => b(fp_zero(get!(a, 0, Line).a)),
        LineEq => b(line_eq(get!(a, 0, Line), get!(a, 1, Line))),
        LineDistance => f(line_distance(get!(a, 0, Line), get!(a, 1, Line))),
        LineInterpt => opt_point(line_interpt(get!(a, 0, Line), get!(a, 1, Line))),
        BoxSame => {
            let (x, y) = (get!(a, 0, Box), get!(a, 1, Box));
            b(point_eq(&x.high, &y.high) && point_eq(&x.low, &y.low))
        }
        BoxOverlap => b(box_ov(get!(a, 0, Box), get!(a, 1, Box))),
        BoxLeft => b(fp_lt(get!(a, 0, Box).high.x, get!(a, 1, Box).low.x)),
        BoxOverleft => b(fp_le(get!(a, 0, Box).high.x, get!(a, 1, Box).high.x)),
        BoxRight => b(fp_gt(get!(a, 0, Box).low.x, get!(a, 1, Box).high.x)),
        BoxOverright => b(fp_ge(get!(a, 0, Box).low.x, get!(a, 1, Box).low.x)),
        BoxBelow => b(fp_lt(get!(a, 0, Box).high.y, get!(a, 1, Box).low.y)),
        BoxOverbelow => b(fp_le(get!(a, 0, Box).high.y, get!(a, 1, Box).high.y)),
        BoxAbove => b(fp_gt(get!(a, 0, Box).low.y, get!(a, 1, Box).high.y)),
        BoxOverabove => b(fp_ge(get!(a, 0, Box).low.y, get!(a, 1, Box).low.y)),
        BoxContained => b(box_contain_box(get!(a, 1, Box), get!(a, 0, Box))),
        BoxContain => b(box_contain_box(get!(a, 0, Box), get!(a, 1, Box))),
        BoxBelowEq => b(fp_le(get!(a, 0, Box).high.y, get!(a, 1, Box).low.y)),
        BoxAboveEq => b(fp_ge(get!(a, 0, Box).low.y, get!(a, 1, Box).high.y)),
        BoxLt | BoxGt | BoxEq | BoxLe | BoxGe => {
            let (x, y) = (box_ar(get!(a, 0, Box)), box_ar(get!(a, 1, Box)));
            b(match op {
                BoxLt => fp_lt(x, y),
                BoxGt => fp_gt(x, y),
                BoxEq => fp_eq(x, y),
                BoxLe => fp_le(x, y),
                _ => fp_ge(x, y),
            })
        }
        BoxArea => f(box_ar(get!(a, 0, Box))),
        BoxWidth => f(box_wd(get!(a, 0, Box))),
        BoxHeight => f(box_ht(get!(a, 0, Box))),
        BoxDistance => f(point_dt(&box_cn(get!(a, 0, Box)), &box_cn(get!(a, 1, Box)))),
        BoxCenter => point(box_cn(get!(a, 0, Box))),
        BoxIntersect => {
            let (x, y) = (get!(a, 0, Box), get!(a, 1, Box));
            if !box_ov(x, y) {
                return Ok(Value::Null);
            }
            gbox(GBox {
                high: pt(fmin(x.high.x, y.high.x), fmin(x.high.y, y.high.y)),
                low: pt(fmax(x.low.x, y.low.x), fmax(x.low.y, y.low.y)),
            })
        }
        BoxDiagonal => {
            let x = get!(a, 0, Box);
            gv(Geo::Lseg(seg(x.high, x.low)))
        }
        PointsBox => gbox(ordered_box(*get!(a, 0, Point), *get!(a, 1, Point))),
        BoxAdd | BoxSub => {
            let (x, p) = (get!(a, 0, Box), get!(a, 1, Point));
            let g = if op == BoxAdd { padd } else { psub };
            gbox(GBox {
                high: g(&x.high, p),
                low: g(&x.low, p),
            })
        }
        BoxMul | BoxDiv => {
            let (x, p) = (get!(a, 0, Box), get!(a, 1, Point));
            let g = if op == BoxMul { pmul } else { pdiv };
            gbox(ordered_box(g(&x.high, p), g(&x.low, p)))
        }
        PointBox => {
            let p = get!(a, 0, Point);
            gbox(GBox { high: *p, low: *p })
        }
        BoundBox => {
            let (x, y) = (get!(a, 0, Box), get!(a, 1, Box));
            gbox(GBox {
                high: pt(fmax(x.high.x, y.high.x), fmax(x.high.y, y.high.y)),
                low: pt(fmin(x.low.x, y.low.x), fmin(x.low.y, y.low.y)),
            })
        }
        BoxPoly => gv(Geo::Polygon(box_poly(get!(a, 0, Box)))),
        BoxCircle => gv(Geo::Circle(box_circle(get!(a, 0, Box)))),
        BoxContainPt => b(box_contain_point(get!(a, 0, Box), get!(a, 1, Point))),
        PathArea => path_area(get!(a, 0, Path)).map_or(Value::Null, f),
        PathNLt | PathNGt | PathNEq | PathNLe | PathNGe => {
            let (x, y) = (get!(a, 0, Path).pts.len(), get!(a, 1, Path).pts.len());
            b(match op {
                PathNLt => x < y,
                PathNGt => x > y,
                PathNEq => x == y,
                PathNLe => x <= y,
                _ => x >= y,
            })
        }
        PathIsClosed => b(get!(a, 0, Path).closed),
        PathIsOpen => b(!get!(a, 0, Path).closed),
        PathNpoints => Value::Int4(get!(a, 0, Path).pts.len() as i32),
        PathClose | PathOpen => {
            let mut p = get!(a, 0, Path).clone();
            p.closed = op == PathClose;
            gv(Geo::Path(p))
        }
        PathInter => b(path_inter(get!(a, 0, Path), get!(a, 1, Path))),
        PathDistance => path_distance(get!(a, 0, Path), get!(a, 1, Path)).map_or(Value::Null, f),
        PathLength => f(path_length(get!(a, 0, Path))),
        PathAdd => {
            let (x, y) = (get!(a, 0, Path), get!(a, 1, Path));
            if x.closed || y.closed {
                return Ok(Value::Null);
            }
            let mut pts = x.pts.clone();
            pts.extend_from_slice(&y.pts);
            gv(Geo::Path(Path { closed: false, pts }))
        }
        PathAddPt | PathSubPt | PathMulPt | PathDivPt => {
            let (x, p) = (get!(a, 0, Path), get!(a, 1, Point));
            let g = match op {
                PathAddPt => padd,
                PathSubPt => psub,
                PathMulPt => pmul,
                _ => pdiv,
            };
            gv(Geo::Path(Path {
                closed: x.closed,
                pts: x.pts.iter().map(|q| g(q, p)).collect(),
            }))
        }
        PathPoly => {
            let x = get!(a, 0, Path);
            if !x.closed {
                return Err(PgError::error(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    "open path cannot be converted to polygon",
                ));
            }
            gv(Geo::Polygon(polygon(x.pts.clone())))
        }
        PathContainPt => b(on_ppath(get!(a, 1, Point), get!(a, 0, Path))),
        PolyLeft => b(get!(a, 0, Polygon).bbox.high.x < get!(a, 1, Polygon).bbox.low.x),
        PolyOverleft => b(get!(a, 0, Polygon).bbox.high.x <= get!(a, 1, Polygon).bbox.high.x),
        PolyRight => b(get!(a, 0, Polygon).bbox.low.x > get!(a, 1, Polygon).bbox.high.x),
        PolyOverright => b(get!(a, 0, Polygon).bbox.low.x >= get!(a, 1, Polygon).bbox.low.x),
        PolyBelow => b(get!(a, 0, Polygon).bbox.high.y < get!(a, 1, Polygon).bbox.low.y),
        PolyOverbelow => b(get!(a, 0, Polygon).bbox.high.y <= get!(a, 1, Polygon).bbox.high.y),
        PolyAbove => b(get!(a, 0, Polygon).bbox.low.y > get!(a, 1, Polygon).bbox.high.y),
        PolyOverabove => b(get!(a, 0, Polygon).bbox.low.y >= get!(a, 1, Polygon).bbox.low.y),
        PolySame => {
            let (x, y) = (get!(a, 0, Polygon), get!(a, 1, Polygon));
            b(x.pts.len() == y.pts.len() && plist_same(&x.pts, &y.pts))
        }
        PolyOverlap => b(poly_overlap(get!(a, 0, Polygon), get!(a, 1, Polygon))),
        PolyContain => b(poly_contain_poly(get!(a, 0, Polygon), get!(a, 1, Polygon))),
        PolyContained => b(poly_contain_poly(get!(a, 1, Polygon), get!(a, 0, Polygon))),
        PolyContainPt => b(point_inside(get!(a, 1, Point), &get!(a, 0, Polygon).pts) != 0),
        PtContainedPoly => b(point_inside(get!(a, 0, Point), &get!(a, 1, Polygon).pts) != 0),
        PolyDistance => f(poly_distance(get!(a, 0, Polygon), get!(a, 1, Polygon))),
        PolyNpoints => Value::Int4(get!(a, 0, Polygon).pts.len() as i32),
        PolyCenter => point(poly_to_circle(get!(a, 0, Polygon)).center),
        PolyBox => gbox(get!(a, 0, Polygon).bbox),
        PolyPath => gv(Geo::Path(Path {
            closed: true,
            pts: get!(a, 0, Polygon).pts.clone(),
        })),
        PolyCircle => gv(Geo::Circle(poly_to_circle(get!(a, 0, Polygon)))),
        CircleSame => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(
                ((x.radius.is_nan() && y.radius.is_nan()) || fp_eq(x.radius, y.radius))
                    && point_eq(&x.center, &y.center),
            )
        }
        CircleOverlap => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_le(
                point_dt(&x.center, &y.center),
                pl(x.radius, y.radius),
            ))
        }
        CircleOverleft => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_le(pl(x.center.x, x.radius), pl(y.center.x, y.radius)))
        }
        CircleLeft => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_lt(pl(x.center.x, x.radius), mi(y.center.x, y.radius)))
        }
        CircleRight => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_gt(mi(x.center.x, x.radius), pl(y.center.x, y.radius)))
        }
        CircleOverright => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_ge(mi(x.center.x, x.radius), mi(y.center.x, y.radius)))
        }
        CircleContained => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_le(
                point_dt(&x.center, &y.center),
                mi(y.radius, x.radius),
            ))
        }
        CircleContain => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_le(
                point_dt(&x.center, &y.center),
                mi(x.radius, y.radius),
            ))
        }
        CircleBelow => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_lt(pl(x.center.y, x.radius), mi(y.center.y, y.radius)))
        }
        CircleAbove => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_gt(mi(x.center.y, x.radius), pl(y.center.y, y.radius)))
        }
        CircleOverbelow => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_le(pl(x.center.y, x.radius), pl(y.center.y, y.radius)))
        }
        CircleOverabove => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            b(fp_ge(mi(x.center.y, x.radius), mi(y.center.y, y.radius)))
        }
        CircleEq | CircleNe | CircleLt | CircleGt | CircleLe | CircleGe => {
            let (x, y) = (circle_ar(get!(a, 0, Circle)), circle_ar(get!(a, 1, Circle)));
            b(match op {
                CircleEq => fp_eq(x, y),
                CircleNe => fp_ne(x, y),
                CircleLt => fp_lt(x, y),
                CircleGt => fp_gt(x, y),
                CircleLe => fp_le(x, y),
                _ => fp_ge(x, y),
            })
        }
        CircleAddPt | CircleSubPt => {
            let (c, p) = (get!(a, 0, Circle), get!(a, 1, Point));
            let g = if op == CircleAddPt { padd } else { psub };
            gv(Geo::Circle(Circle {
                center: g(&c.center, p),
                radius: c.radius,
            }))
        }
        CircleMulPt | CircleDivPt => {
            let (c, p) = (get!(a, 0, Circle), get!(a, 1, Point));
            let (center, radius) = if op == CircleMulPt {
                (pmul(&c.center, p), mul(c.radius, hypot(p.x, p.y)))
            } else {
                (pdiv(&c.center, p), div(c.radius, hypot(p.x, p.y)))
            };
            gv(Geo::Circle(Circle { center, radius }))
        }
        CircleArea => f(circle_ar(get!(a, 0, Circle))),
        CircleDiameter => f(mul(get!(a, 0, Circle).radius, 2.0)),
        CircleRadius => f(get!(a, 0, Circle).radius),
        CircleDistance => {
            let (x, y) = (get!(a, 0, Circle), get!(a, 1, Circle));
            let d = mi(point_dt(&x.center, &y.center), pl(x.radius, y.radius));
            f(if d < 0.0 { 0.0 } else { d })
        }
        CircleContainPt => {
            let (c, p) = (get!(a, 0, Circle), get!(a, 1, Point));
            b(point_dt(&c.center, p) <= c.radius)
        }
        PtContainedCircle => {
            let (p, c) = (get!(a, 0, Point), get!(a, 1, Circle));
            b(point_dt(&c.center, p) <= c.radius)
        }
        CircleCenter => point(get!(a, 0, Circle).center),
        CrCircle => gv(Geo::Circle(Circle {
            center: *get!(a, 0, Point),
            radius: num(&a[1]),
        })),
        CircleBox => gbox(circle_box(get!(a, 0, Circle))),
        // polygon(circle) is an SQL function calling polygon(12, $1) in
        // PostgreSQL, whose errors say so.
        CirclePoly => gv(Geo::Polygon(
            circle_poly(12, get!(a, 0, Circle))
                .map_err(|e| e.with_context("SQL function \"polygon\" statement 1"))?,
        )),
        CirclePolyN => {
            let n = match a.first() {
                Some(Value::Int4(n)) => *n,
                Some(v) => num(v) as i32,
                None => 0,
            };
            gv(Geo::Polygon(circle_poly(n, get!(a, 1, Circle))?))
        }
        DistPl => f(line_closept_point(get!(a, 1, Line), get!(a, 0, Point)).0),
        DistLp => f(line_closept_point(get!(a, 0, Line), get!(a, 1, Point)).0),
        DistPs => f(lseg_closept_point(get!(a, 1, Lseg), get!(a, 0, Point)).0),
        DistSp => f(lseg_closept_point(get!(a, 0, Lseg), get!(a, 1, Point)).0),
        DistPpath => f(dist_ppath(get!(a, 0, Point), get!(a, 1, Path))),
        DistPathp => f(dist_ppath(get!(a, 1, Point), get!(a, 0, Path))),
        DistPb => f(box_closept_point(get!(a, 1, Box), get!(a, 0, Point)).0),
        DistBp => f(box_closept_point(get!(a, 0, Box), get!(a, 1, Point)).0),
        DistSl => f(lseg_closept_line(get!(a, 0, Lseg), get!(a, 1, Line)).0),
        DistLs => f(lseg_closept_line(get!(a, 1, Lseg), get!(a, 0, Line)).0),
        DistSb => f(box_closept_lseg(get!(a, 1, Box), get!(a, 0, Lseg)).0),
        DistBs => f(box_closept_lseg(get!(a, 0, Box), get!(a, 1, Lseg)).0),
        DistCpoly | DistPolyc => {
            let (c, p) = if op == DistCpoly {
                (get!(a, 0, Circle), get!(a, 1, Polygon))
            } else {
                (get!(a, 1, Circle), get!(a, 0, Polygon))
            };
            let d = mi(dist_ppoly(&c.center, p), c.radius);
            f(if d < 0.0 { 0.0 } else { d })
        }
        DistPpoly => f(dist_ppoly(get!(a, 0, Point), get!(a, 1, Polygon))),
        DistPolyp => f(dist_ppoly(get!(a, 1, Point), get!(a, 0, Polygon))),
        DistPc | DistCpoint => {
            let (p, c) = if op == DistPc {
                (get!(a, 0, Point), get!(a, 1, Circle))
            } else {
                (get!(a, 1, Point), get!(a, 0, Circle))
            };
            let d = mi(point_dt(p, &c.center), c.radius);
            f(if d < 0.0 { 0.0 } else { d })
        }
        ClosePl => {
            let (d, p) = line_closept_point(get!(a, 1, Line), get!(a, 0, Point));
            if d.is_nan() {
                Value::Null
            } else {
                point(p)
            }
        }
        ClosePs => {
            let (d, p) = lseg_closept_point(get!(a, 1, Lseg), get!(a, 0, Point));
            if d.is_nan() {
                Value::Null
            } else {
                point(p)
            }
        }
        CloseLseg => {
            let (l1, l2) = (get!(a, 0, Lseg), get!(a, 1, Lseg));
            if lseg_sl(l1) == lseg_sl(l2) {
                return Ok(Value::Null);
            }
            let (d, p) = lseg_closept_lseg(l2, l1);
            if d.is_nan() {
                Value::Null
            } else {
                point(p)
            }
        }
        ClosePb => {
            let (d, p) = box_closept_point(get!(a, 1, Box), get!(a, 0, Point));
            if d.is_nan() {
                Value::Null
            } else {
                point(p)
            }
        }
        CloseLs => {
            let (l, s) = (get!(a, 0, Line), get!(a, 1, Lseg));
            if lseg_sl(s) == line_sl(l) {
                return Ok(Value::Null);
            }
            let (d, p) = lseg_closept_line(s, l);
            if d.is_nan() {
                Value::Null
            } else {
                point(p)
            }
        }
        CloseSb => {
            let (d, p) = box_closept_lseg(get!(a, 1, Box), get!(a, 0, Lseg));
            if d.is_nan() {
                Value::Null
            } else {
                point(p)
            }
        }
        OnPl => b(line_contain_point(get!(a, 1, Line), get!(a, 0, Point))),
        OnPs => b(lseg_contain_point(get!(a, 1, Lseg), get!(a, 0, Point))),
        OnPb => b(box_contain_point(get!(a, 1, Box), get!(a, 0, Point))),
        OnPpath => b(on_ppath(get!(a, 0, Point), get!(a, 1, Path))),
        OnSl => {
            let (s, l) = (get!(a, 0, Lseg), get!(a, 1, Line));
            b(line_contain_point(l, &s.p[0]) && line_contain_point(l, &s.p[1]))
        }
        OnSb => {
            let (s, x) = (get!(a, 0, Lseg), get!(a, 1, Box));
            b(box_contain_point(x, &s.p[0]) && box_contain_point(x, &s.p[1]))
        }
        InterSl => b(lseg_interpt_line(get!(a, 0, Lseg), get!(a, 1, Line)).is_some()),
        InterSb => b(box_interpt_lseg(get!(a, 1, Box), get!(a, 0, Lseg)).is_some()),
        InterLb => b(inter_lb(get!(a, 0, Line), get!(a, 1, Box))),
        Subscript => match a.first().and_then(arg) {
            Some(g) => subscript(g, num(&a[1]) as i64),
            None => return Err(wrong()),
        },
    })
}

/// The explicit casts between geometric types (pg_cast), as the function
/// that performs each.
pub fn cast_op(from: Oid, to: Oid) -> Option<Op> {
    Some(match (from, to) {
        (POINT, BOX) => Op::PointBox,
        (LSEG, POINT) => Op::LsegCenter,
        (PATH, POLYGON) => Op::PathPoly,
        (BOX, POINT) => Op::BoxCenter,
        (BOX, LSEG) => Op::BoxDiagonal,
        (BOX, POLYGON) => Op::BoxPoly,
        (BOX, CIRCLE) => Op::BoxCircle,
        (POLYGON, POINT) => Op::PolyCenter,
        (POLYGON, PATH) => Op::PolyPath,
        (POLYGON, BOX) => Op::PolyBox,
        (POLYGON, CIRCLE) => Op::PolyCircle,
        (CIRCLE, POINT) => Op::CircleCenter,
        (CIRCLE, BOX) => Op::CircleBox,
        (CIRCLE, POLYGON) => Op::CirclePoly,
        _ => return None,
    })
}

/// Whether a value of `from` may be stored in a column of `to` without
/// an explicit cast: false only for pg_cast's explicit-only casts between
/// geometric types (box -> polygon, path <-> polygon are assignment
/// casts; the rest need CAST).
pub fn assignable(from: Oid, to: Oid) -> bool {
    if from == to || !is_geo(from) || !is_geo(to) {
        return true;
    }
    matches!(
        (from, to),
        (PATH, POLYGON) | (BOX, POLYGON) | (POLYGON, PATH)
    )
}

/// Subscripting a point (`p[0]` is x, `p[1]` y) or an lseg (`s[0]` its
/// first point): NULL past the end, as PostgreSQL's fixed-length array
/// access gives.
pub fn subscript(g: &Geo, i: i64) -> Value {
    match (g, i) {
        (Geo::Point(p), 0) => Value::Float8(p.x),
        (Geo::Point(p), 1) => Value::Float8(p.y),
        (Geo::Lseg(l), 0 | 1) => gv(Geo::Point(l.p[i as usize])),
        (Geo::Box(b), 0) => gv(Geo::Point(b.high)),
        (Geo::Box(b), 1) => gv(Geo::Point(b.low)),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(oid: Oid, s: &str) -> String {
        format(&parse(oid, s).unwrap())
    }

    fn err(oid: Oid, s: &str) -> String {
        parse(oid, s).unwrap_err().message
    }

    #[test]
    fn input_forms() {
        assert_eq!(rt(POINT, " ( 1 , 2 ) "), "(1,2)");
        assert_eq!(rt(POINT, "1e3,-2.5"), "(1000,-2.5)");
        assert_eq!(rt(LSEG, "[(1,2),(3,4)]"), "[(1,2),(3,4)]");
        assert_eq!(rt(LSEG, "10,-10 ,-3,-4"), "[(10,-10),(-3,-4)]");
        assert_eq!(rt(BOX, "(2,2),(0,0)"), "(2,2),(0,0)");
        assert_eq!(rt(BOX, "(0,0,2,2)"), "(2,2),(0,0)");
        assert_eq!(rt(PATH, "[(1,2),(3,4)]"), "[(1,2),(3,4)]");
        assert_eq!(rt(PATH, " ( ( 1 , 2 ) , ( 3 , 4 ) ) "), "((1,2),(3,4))");
        assert_eq!(rt(PATH, "1,2 ,3,4 "), "((1,2),(3,4))");
        assert_eq!(rt(PATH, "((10,20))"), "((10,20))");
        assert_eq!(rt(POLYGON, "(3,1),(3,3),(1,0)"), "((3,1),(3,3),(1,0))");
        assert_eq!(rt(POLYGON, "(0,0,1,1)"), "((0,0),(1,1))");
        assert_eq!(rt(CIRCLE, "<(5,1),3>"), "<(5,1),3>");
        assert_eq!(rt(CIRCLE, "1,2,100"), "<(1,2),100>");
        assert_eq!(rt(CIRCLE, "((1,2),100)"), "<(1,2),100>");
        assert_eq!(rt(LINE, "{0,-1,5}"), "{0,-1,5}");
        assert_eq!(rt(LINE, " (0,0), (6,6)"), "{1,-1,0}");
        assert_eq!(rt(LINE, "[(1,3),(2,3)]"), "{0,-1,3}");
        assert_eq!(rt(POINT, "(NaN,Infinity)"), "(NaN,Infinity)");
    }

    #[test]
    fn input_errors() {
        assert_eq!(
            err(POINT, "(10.0 10.0)"),
            "invalid input syntax for type point: \"(10.0 10.0)\""
        );
        assert_eq!(
            err(POINT, "(10.0, 10.0) x"),
            "invalid input syntax for type point: \"(10.0, 10.0) x\""
        );
        assert_eq!(
            err(POINT, "(10.0, 1e+500)"),
            "\"1e+500\" is out of range for type double precision"
        );
        assert_eq!(
            err(PATH, "[]"),
            "invalid input syntax for type path: \"[]\""
        );
        assert_eq!(
            err(PATH, "(1,2),(3,4)]"),
            "invalid input syntax for type path: \"(1,2),(3,4)]\""
        );
        assert_eq!(
            err(LINE, "{0,0,1}"),
            "invalid line specification: A and B cannot both be zero"
        );
        assert_eq!(
            err(LINE, "[(1,2),(1,2)]"),
            "invalid line specification: must be two distinct points"
        );
        assert_eq!(
            err(CIRCLE, "<(-100,0),-100>"),
            "invalid input syntax for type circle: \"<(-100,0),-100>\""
        );
        assert_eq!(
            err(BOX, "[1,2,3,4]"),
            "invalid input syntax for type box: \"[1,2,3,4]\""
        );
    }

    #[test]
    fn binary_round_trip() {
        for (oid, s) in [
            (POINT, "(1,2)"),
            (LSEG, "[(1,2),(3,4)]"),
            (BOX, "(2,2),(0,0)"),
            (PATH, "[(1,2),(3,4),(5,6)]"),
            (POLYGON, "((0,0),(1,1),(2,0))"),
            (LINE, "{1,-1,0}"),
            (CIRCLE, "<(1,2),3>"),
        ] {
            let g = parse(oid, s).unwrap();
            assert_eq!(recv(oid, &send(&g)).unwrap(), g, "{s}");
        }
        assert!(recv(
            CIRCLE,
            &send(&Geo::Circle(Circle {
                center: pt(0.0, 0.0),
                radius: -1.0
            }))
        )
        .is_err());
    }

    fn v(oid: Oid, s: &str) -> Value {
        gv(parse(oid, s).unwrap())
    }

    #[test]
    fn operators() {
        let p = |s| v(POINT, s);
        assert_eq!(
            eval(Op::PointDistance, &[p("(0,0)"), p("(3,4)")]).unwrap(),
            Value::Float8(5.0)
        );
        // Fuzzy: a difference of 1e-7 is "the same".
        assert_eq!(
            eval(Op::PointSame, &[p("(0,0)"), p("(0,0.0000001)")]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            eval(Op::PointDiv, &[p("(1,1)"), p("(0,0)")])
                .unwrap_err()
                .message,
            "division by zero"
        );
        assert_eq!(
            eval(Op::PointMul, &[p("(1e300,1e300)"), p("(1e300,1e300)")])
                .unwrap_err()
                .message,
            "value out of range: overflow"
        );
        let b = v(BOX, "(2,2),(0,0)");
        assert_eq!(
            eval(Op::BoxArea, std::slice::from_ref(&b)).unwrap(),
            Value::Float8(4.0)
        );
        assert_eq!(
            eval(Op::OnPb, &[p("(1,1)"), b.clone()]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            eval(Op::DistPb, &[p("(5,2)"), b]).unwrap(),
            Value::Float8(3.0)
        );
        let poly = v(POLYGON, "(0,0),(4,0),(4,4),(0,4)");
        assert_eq!(
            eval(Op::PolyContainPt, &[poly.clone(), p("(2,2)")]).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            eval(Op::PolyContainPt, &[poly, p("(5,2)")]).unwrap(),
            Value::Bool(false)
        );
        let l1 = v(LSEG, "[(0,0),(2,2)]");
        let l2 = v(LSEG, "[(0,2),(2,0)]");
        assert_eq!(
            format(arg(&eval(Op::LsegInterpt, &[l1.clone(), l2.clone()]).unwrap()).unwrap()),
            "(1,1)"
        );
        assert_eq!(eval(Op::LsegPerp, &[l1, l2]).unwrap(), Value::Bool(true));
        let path = v(PATH, "[(0,0),(3,0),(4,5),(1,6)]");
        assert_eq!(eval(Op::PathNpoints, &[path]).unwrap(), Value::Int4(4));
    }
}
