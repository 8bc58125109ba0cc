//! User-defined operators and casts: CREATE/ALTER/DROP OPERATOR and CREATE/DROP CAST, kept as pg_operator and pg_cast rows as PostgreSQL 15 keeps them, and the catalog view the binder resolves operators and casts from.
//!
//! Why catalog DML through the SQL layer (as fdw.rs and comment.rs do):
//! an operator or a cast is a row and its pg_depend rows, nothing else,
//! so writing them with the statement's transaction makes the DDL
//! transactional for free and psql and the regression queries read
//! exactly what PostgreSQL would show. The statement checks PostgreSQL's
//! rules itself (operatorcmds.c, pg_operator.c, functioncmds.c's
//! CreateCast) before writing, then writes as the system.
//!
//! The built-in operators and casts live in the binder and have no rows
//! (as built-in functions have no pg_proc rows); only user-defined ones
//! are here. A CREATE OPERATOR may name a built-in function as its
//! implementation or estimator: those are the few of [`BUILTIN_PROCS`],
//! with PostgreSQL's OIDs, so pg_operator holds what PostgreSQL holds
//! and regproc prints their names.
//!
//! Operator names are lexed here as PostgreSQL's scanner lexes them
//! (a run of operator characters cut at `--` or `/*`, a trailing `+`/`-`
//! dropped unless the run has one of `~!@#^&|`?%`), because sqlparser's
//! tokenizer splits unknown runs differently.

use std::rc::Rc;

use tusk_common::{sqlstate, PgError, Severity};

use crate::acl;
use crate::host::Host;
use crate::sysinfo::query;
use crate::types::{self, Oid};
use crate::value::Value;

/// pg_class OIDs of the catalogs these rows live in (pg_depend's classid).
pub(crate) const PG_OPERATOR: u32 = 2617;
pub(crate) const PG_CAST: u32 = 2605;
const PG_PROC: u32 = 1255;
const PG_TYPE: u32 = 1247;
const PG_NAMESPACE: u32 = 2615;
const INTERNAL: Oid = 2281;
/// Objects with OIDs below this are pinned (no pg_depend rows point at
/// them), except the public schema.
const FIRST_UNPINNED: u32 = 12_000;
const PUBLIC_NS: u32 = 2200;

/// One pg_operator row, as the binder needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperDef {
    pub oid: u32,
    pub name: String,
    pub namespace: u32,
    pub schema: String,
    pub owner: u32,
    /// `b'b'` binary, `b'l'` prefix.
    pub kind: u8,
    pub left: Oid,
    pub right: Oid,
    pub result: Oid,
    pub com: u32,
    pub negate: u32,
    /// pg_proc OID of the implementation; 0 for a shell operator.
    pub code: u32,
    pub rest: u32,
    pub join: u32,
    pub can_merge: bool,
    pub can_hash: bool,
}

/// One pg_cast row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CastDef {
    pub oid: u32,
    pub source: Oid,
    pub target: Oid,
    pub func: u32,
    /// `b'e'` explicit, `b'a'` assignment, `b'i'` implicit.
    pub context: u8,
    /// `b'f'` function, `b'i'` I/O conversion, `b'b'` binary coercible.
    pub method: u8,
}

/// Every user-defined operator and cast, as the host caches them under
/// the catalog generation.
#[derive(Debug, Clone, Default)]
pub struct OperCatalog {
    pub ops: Vec<OperDef>,
    pub casts: Vec<CastDef>,
}

impl OperCatalog {
    /// Reads pg_operator rows (columns in catalog order) and pg_cast
    /// rows; `schema` names a namespace OID.
    pub fn from_rows(
        ops: &[Vec<Value>],
        casts: &[Vec<Value>],
        schema: &dyn Fn(u32) -> String,
    ) -> OperCatalog {
        let b = |v: &Value| matches!(v, Value::Bool(true));
        let c = |v: &Value| match v {
            Value::Char(c) => *c,
            Value::Text(s) | Value::Name(s) => s.bytes().next().unwrap_or(0),
            _ => 0,
        };
        let name = |v: &Value| match v {
            Value::Name(s) | Value::Text(s) => s.clone(),
            _ => String::new(),
        };
        OperCatalog {
            ops: ops
                .iter()
                .filter(|r| r.len() >= 15)
                .map(|r| OperDef {
                    oid: oid_of(&r[0]),
                    name: name(&r[1]),
                    namespace: oid_of(&r[2]),
                    schema: schema(oid_of(&r[2])),
                    owner: oid_of(&r[3]),
                    kind: c(&r[4]),
                    can_merge: b(&r[5]),
                    can_hash: b(&r[6]),
                    left: oid_of(&r[7]),
                    right: oid_of(&r[8]),
                    result: oid_of(&r[9]),
                    com: oid_of(&r[10]),
                    negate: oid_of(&r[11]),
                    code: oid_of(&r[12]),
                    rest: oid_of(&r[13]),
                    join: oid_of(&r[14]),
                })
                .collect(),
            casts: casts
                .iter()
                .filter(|r| r.len() >= 6)
                .map(|r| CastDef {
                    oid: oid_of(&r[0]),
                    source: oid_of(&r[1]),
                    target: oid_of(&r[2]),
                    func: oid_of(&r[3]),
                    context: c(&r[4]),
                    method: c(&r[5]),
                })
                .collect(),
        }
    }
}

thread_local! {
    /// The implicit user-defined casts (source, target) of the catalog
    /// the statement being bound sees: bind::implicit_ok is a plain
    /// function of two types, called deep in overload resolution.
    static IMPLICIT: std::cell::RefCell<Vec<(Oid, Oid)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Remembers the implicit user-defined casts for the statement a binder
/// is made for.
pub(crate) fn note_casts(host: &dyn Host) {
    let casts: Vec<(Oid, Oid)> = match host.user_operators() {
        Ok(c) => c
            .casts
            .iter()
            .filter(|c| c.context == b'i')
            .map(|c| (c.source, c.target))
            .collect(),
        Err(_) => Vec::new(),
    };
    IMPLICIT.with(|i| {
        let mut i = i.borrow_mut();
        if *i != casts {
            *i = casts;
        }
    });
}

/// Whether a user-defined implicit cast leads from `from` to `to`.
pub(crate) fn user_implicit(from: Oid, to: Oid) -> bool {
    from != to && IMPLICIT.with(|i| i.borrow().iter().any(|&(s, t)| s == from && t == to))
}

pub(crate) fn oid_of(v: &Value) -> u32 {
    match v {
        Value::Oid(o) | Value::Reg(o, _) => *o,
        Value::Int4(i) => *i as u32,
        Value::Int8(i) => *i as u32,
        _ => 0,
    }
}

/// How a built-in function named by CREATE OPERATOR computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    /// The built-in binary operator with this symbol on the declared
    /// argument types (int4eq is `int4 = int4`).
    Op(&'static str),
    /// The built-in function of this name.
    Func(&'static str),
    /// A selectivity estimator: names only (tusk has no planner
    /// statistics to feed it).
    Estimator,
}

/// A built-in pg_proc row a user-defined operator may name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BuiltinProc {
    pub oid: u32,
    pub name: &'static str,
    pub args: &'static [Oid],
    pub ret: Oid,
    pub imp: Builtin,
}

const fn op(
    oid: u32,
    name: &'static str,
    sym: &'static str,
    args: &'static [Oid],
    ret: Oid,
) -> BuiltinProc {
    BuiltinProc {
        oid,
        name,
        args,
        ret,
        imp: Builtin::Op(sym),
    }
}

const R4: &[Oid] = &[INTERNAL, types::OID, INTERNAL, types::INT4];
const J5: &[Oid] = &[INTERNAL, types::OID, INTERNAL, types::INT2, INTERNAL];
const fn est(oid: u32, name: &'static str, args: &'static [Oid]) -> BuiltinProc {
    BuiltinProc {
        oid,
        name,
        args,
        ret: types::FLOAT8,
        imp: Builtin::Estimator,
    }
}

const BB: &[Oid] = &[16, 16];
const N2: &[Oid] = &[19, 19];
const I2: &[Oid] = &[21, 21];
const I4: &[Oid] = &[23, 23];
const I8: &[Oid] = &[20, 20];
const TT: &[Oid] = &[25, 25];
const F4: &[Oid] = &[700, 700];
const F8: &[Oid] = &[701, 701];
const BP: &[Oid] = &[1042, 1042];

/// PostgreSQL 15's pg_proc rows (OID, name, arguments, result) of the
/// operators' implementation functions of the common scalar types, and
/// of the selectivity estimators.
pub(crate) static BUILTIN_PROCS: &[BuiltinProc] = &[
    op(56, "boollt", "<", BB, 16),
    op(57, "boolgt", ">", BB, 16),
    op(60, "booleq", "=", BB, 16),
    op(62, "nameeq", "=", N2, 16),
    op(63, "int2eq", "=", I2, 16),
    op(64, "int2lt", "<", I2, 16),
    op(65, "int4eq", "=", I4, 16),
    op(66, "int4lt", "<", I4, 16),
    op(67, "texteq", "=", TT, 16),
    op(84, "boolne", "<>", BB, 16),
    op(141, "int4mul", "*", I4, 23),
    op(144, "int4ne", "<>", I4, 16),
    op(145, "int2ne", "<>", I2, 16),
    op(146, "int2gt", ">", I2, 16),
    op(147, "int4gt", ">", I4, 16),
    op(148, "int2le", "<=", I2, 16),
    op(149, "int4le", "<=", I4, 16),
    op(150, "int4ge", ">=", I4, 16),
    op(151, "int2ge", ">=", I2, 16),
    op(152, "int2mul", "*", I2, 21),
    op(153, "int2div", "/", I2, 21),
    op(154, "int4div", "/", I4, 23),
    op(155, "int2mod", "%", I2, 21),
    op(156, "int4mod", "%", I4, 23),
    op(157, "textne", "<>", TT, 16),
    op(176, "int2pl", "+", I2, 21),
    op(177, "int4pl", "+", I4, 23),
    op(180, "int2mi", "-", I2, 21),
    op(181, "int4mi", "-", I4, 23),
    op(202, "float4mul", "*", F4, 700),
    op(203, "float4div", "/", F4, 700),
    op(204, "float4pl", "+", F4, 700),
    op(205, "float4mi", "-", F4, 700),
    op(216, "float8mul", "*", F8, 701),
    op(217, "float8div", "/", F8, 701),
    op(218, "float8pl", "+", F8, 701),
    op(219, "float8mi", "-", F8, 701),
    op(287, "float4eq", "=", F4, 16),
    op(288, "float4ne", "<>", F4, 16),
    op(289, "float4lt", "<", F4, 16),
    op(290, "float4le", "<=", F4, 16),
    op(291, "float4gt", ">", F4, 16),
    op(292, "float4ge", ">=", F4, 16),
    op(293, "float8eq", "=", F8, 16),
    op(294, "float8ne", "<>", F8, 16),
    op(295, "float8lt", "<", F8, 16),
    op(296, "float8le", "<=", F8, 16),
    op(297, "float8gt", ">", F8, 16),
    op(298, "float8ge", ">=", F8, 16),
    op(463, "int8pl", "+", I8, 20),
    op(464, "int8mi", "-", I8, 20),
    op(465, "int8mul", "*", I8, 20),
    op(466, "int8div", "/", I8, 20),
    op(467, "int8eq", "=", I8, 16),
    op(468, "int8ne", "<>", I8, 16),
    op(469, "int8lt", "<", I8, 16),
    op(470, "int8gt", ">", I8, 16),
    op(471, "int8le", "<=", I8, 16),
    op(472, "int8ge", ">=", I8, 16),
    op(655, "namelt", "<", N2, 16),
    op(656, "namele", "<=", N2, 16),
    op(657, "namegt", ">", N2, 16),
    op(658, "namege", ">=", N2, 16),
    op(659, "namene", "<>", N2, 16),
    op(945, "int8mod", "%", I8, 20),
    op(1048, "bpchareq", "=", BP, 16),
    op(1049, "bpcharlt", "<", BP, 16),
    op(1050, "bpcharle", "<=", BP, 16),
    op(1051, "bpchargt", ">", BP, 16),
    op(1052, "bpcharge", ">=", BP, 16),
    op(1053, "bpcharne", "<>", BP, 16),
    op(1691, "boolle", "<=", BB, 16),
    op(1692, "boolge", ">=", BB, 16),
    op(232, "dpow", "^", F8, 701),
    op(1892, "int2and", "&", I2, 21),
    op(1893, "int2or", "|", I2, 21),
    op(1894, "int2xor", "#", I2, 21),
    op(1898, "int4and", "&", I4, 23),
    op(1899, "int4or", "|", I4, 23),
    op(1900, "int4xor", "#", I4, 23),
    op(1902, "int4shl", "<<", I4, 23),
    op(1903, "int4shr", ">>", I4, 23),
    op(1904, "int8and", "&", I8, 20),
    op(1905, "int8or", "|", I8, 20),
    op(1906, "int8xor", "#", I8, 20),
    op(973, "path_inter", "?#", &[602, 602], 16),
    BuiltinProc {
        oid: 1376,
        name: "factorial",
        args: &[20],
        ret: types::NUMERIC,
        imp: Builtin::Func("factorial"),
    },
    est(101, "eqsel", R4),
    est(102, "neqsel", R4),
    est(103, "scalarltsel", R4),
    est(104, "scalargtsel", R4),
    est(105, "eqjoinsel", J5),
    est(106, "neqjoinsel", J5),
    est(107, "scalarltjoinsel", J5),
    est(108, "scalargtjoinsel", J5),
    est(139, "areasel", R4),
    est(140, "areajoinsel", J5),
    est(336, "scalarlesel", R4),
    est(337, "scalargesel", R4),
    est(386, "scalarlejoinsel", J5),
    est(398, "scalargejoinsel", J5),
    est(1300, "positionsel", R4),
    est(1301, "positionjoinsel", J5),
    est(1302, "contsel", R4),
    est(1303, "contjoinsel", J5),
    est(3817, "arraycontsel", R4),
    est(3818, "arraycontjoinsel", J5),
    est(5040, "matchingsel", R4),
    est(5041, "matchingjoinsel", J5),
];

/// The built-in function with this pg_proc OID, if CREATE OPERATOR can
/// name it.
pub(crate) fn builtin_proc(oid: u32) -> Option<&'static BuiltinProc> {
    BUILTIN_PROCS.iter().find(|p| p.oid == oid)
}

// ---------------------------------------------------------------------
// Lexing and parsing.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A word: as written and folded (quoted identifiers keep case).
    Word {
        folded: String,
        quoted: bool,
    },
    Str(String),
    Num(String),
    Op(String),
    Punct(char),
}

/// The text of a quoted run starting at `c[*i]` (the opening `q`), a doubled
/// `q` standing for one; `*i` moves past the closing quote.
fn quoted(c: &[char], i: &mut usize, q: char, unterminated: &str) -> Result<String, PgError> {
    let mut s = String::new();
    *i += 1;
    loop {
        match c.get(*i) {
            None => return Err(syntax(unterminated)),
            Some(&x) if x == q && c.get(*i + 1) == Some(&q) => {
                s.push(q);
                *i += 2;
            }
            Some(&x) if x == q => {
                *i += 1;
                return Ok(s);
            }
            Some(&x) => {
                s.push(x);
                *i += 1;
            }
        }
    }
}

const OP_CHARS: &str = "~!@#^&|`?+-*/%<>=";

fn lex(sql: &str) -> Result<(Vec<Tok>, Vec<usize>), PgError> {
    let c: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let mut pos = Vec::new();
    while i < c.len() {
        let ch = c[i];
        let start = i;
        let n_before = out.len();
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && c.get(i + 1) == Some(&'-') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            let s = quoted(&c, &mut i, '"', "unterminated quoted identifier")?;
            out.push(Tok::Word {
                folded: s,
                quoted: true,
            });
        } else if ch == '\'' {
            let s = quoted(&c, &mut i, '\'', "unterminated quoted string")?;
            out.push(Tok::Str(s));
        } else if ch.is_alphabetic() || ch == '_' {
            let st = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                i += 1;
            }
            let w: String = c[st..i].iter().collect();
            out.push(Tok::Word {
                folded: w.to_lowercase(),
                quoted: false,
            });
        } else if ch.is_ascii_digit() {
            let st = i;
            while i < c.len() && (c[i].is_ascii_digit() || c[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(c[st..i].iter().collect()));
        } else if OP_CHARS.contains(ch) {
            let st = i;
            while i < c.len() && OP_CHARS.contains(c[i]) {
                i += 1;
            }
            let run: String = c[st..i].iter().collect();
            let mut n = run.chars().count();
            if let Some(p) = [run.find("/*"), run.find("--")].into_iter().flatten().min() {
                n = p.max(1);
                if p == 0 {
                    // A comment right after the previous token.
                    i = st;
                    // Let the comment branches handle it.
                    if c[i] == '-' {
                        while i < c.len() && c[i] != '\n' {
                            i += 1;
                        }
                    } else {
                        i += 2;
                        while i + 1 < c.len() && !(c[i] == '*' && c[i + 1] == '/') {
                            i += 1;
                        }
                        i += 2;
                    }
                    continue;
                }
            }
            let chars: Vec<char> = run.chars().take(n).collect();
            let mut n = chars.len();
            if n > 1 && matches!(chars[n - 1], '+' | '-') {
                let special = chars[..n - 1].iter().any(|c| "~!@#^&|`?%".contains(*c));
                if !special {
                    while n > 1 && matches!(chars[n - 1], '+' | '-') {
                        n -= 1;
                    }
                }
            }
            i = st + n;
            let s: String = chars[..n].iter().collect();
            out.push(Tok::Op(if s == "!=" { "<>".into() } else { s }));
        } else if ch == ';' && c[i + 1..].iter().all(|c| c.is_whitespace()) {
            i += 1;
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
        if out.len() > n_before {
            pos.push(start);
        }
    }
    Ok((out, pos))
}

/// PostgreSQL's split of a run of operator characters into operators:
/// the longest run, less a trailing `+`/`-` unless the run has one of
/// `~!@#^&|`?%` (scan.l's rule, which lets `x<-1` mean `x < -1`).
fn pg_operator_split(run: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < run.len() {
        let rest = &run[i..];
        let mut n = rest.len();
        if n > 1
            && matches!(rest[n - 1], '+' | '-')
            && !rest[..n - 1].iter().any(|c| "~!@#^&|`?%".contains(*c))
        {
            while n > 1 && matches!(rest[n - 1], '+' | '-') {
                n -= 1;
            }
        }
        out.push(rest[..n].iter().collect());
        i += n;
    }
    out
}

/// Statement tokens with adjacent operator tokens re-split as
/// PostgreSQL's scanner splits them: sqlparser's tokenizer ends an
/// operator where PostgreSQL does not (`===` is `==` `=`, `<+>` is `<`
/// `+>`), which would hide user-defined operators. A run PostgreSQL
/// reads as the same tokens is left alone; a piece sqlparser has no
/// token for becomes a custom operator.
pub(crate) fn merge_operator_tokens(
    toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};
    fn op_text(t: &Token) -> Option<String> {
        match t {
            Token::Whitespace(_)
            | Token::EOF
            | Token::Word(_)
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::EscapedStringLiteral(_) => None,
            t => {
                let s = t.to_string();
                (!s.is_empty() && s.chars().all(|c| OP_CHARS.contains(c))).then_some(s)
            }
        }
    }
    if !toks
        .iter()
        .any(|t| op_text(&t.token).is_some_and(|s| s.len() > 1))
        && toks.iter().filter(|t| op_text(&t.token).is_some()).count() < 2
    {
        return toks;
    }
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let Some(first) = op_text(&toks[i].token) else {
            out.push(toks[i].clone());
            i += 1;
            continue;
        };
        let mut texts = vec![first];
        let mut j = i + 1;
        while j < toks.len()
            && toks[j].span.start == toks[j - 1].span.end
            && toks[j].span.start.line > 0
        {
            match op_text(&toks[j].token) {
                Some(t) => texts.push(t),
                None => break,
            }
            j += 1;
        }
        let run: Vec<char> = texts.concat().chars().collect();
        // (offset in the run, piece): comments inside the run (sqlparser
        // reads `<>/**/` as one operator) end an operator.
        let mut pieces: Vec<(usize, String)> = Vec::new();
        let mut k = 0;
        let mut seg_start = 0;
        while k <= run.len() {
            let comment = k + 1 < run.len() && run[k] == '/' && run[k + 1] == '*';
            if k == run.len() || comment {
                let mut off = seg_start;
                for p in pg_operator_split(&run[seg_start..k]) {
                    let len = p.chars().count();
                    pieces.push((off, p));
                    off += len;
                }
                if k == run.len() {
                    break;
                }
                // Skip to the comment's end inside the run.
                match (k + 2..run.len().saturating_sub(1))
                    .find(|&e| run[e] == '*' && run[e + 1] == '/')
                {
                    Some(e) => {
                        k = e + 2;
                        seg_start = k;
                        continue;
                    }
                    None => {
                        pieces.clear();
                        break;
                    }
                }
            }
            k += 1;
        }
        if pieces.is_empty() || pieces.iter().map(|(_, p)| p).eq(texts.iter()) {
            out.extend(toks[i..j].iter().cloned());
            i = j;
            continue;
        }
        let start = toks[i].span.start;
        for (off, p) in pieces {
            let len = p.chars().count() as u64;
            let col = start.column + off as u64;
            let one = Tokenizer::new(&sqlparser::dialect::PostgreSqlDialect {}, &p)
                .tokenize()
                .ok()
                .filter(|v| v.len() == 1)
                .and_then(|mut v| v.pop());
            let token = match one {
                Some(t) => t,
                None if p == "!=" => Token::Neq,
                None => Token::CustomBinaryOperator(p),
            };
            out.push(TokenWithSpan {
                token,
                span: Span::new(
                    Location::new(start.line, col),
                    Location::new(start.line, col + len),
                ),
            });
        }
        i = j;
    }
    out
}

/// `!=` tokens followed at once by more operator characters, as
/// written: sqlparser reads `!=` as `<>`, and `!=-` is one operator to
/// PostgreSQL (its `!` keeps a trailing `-`), which
/// [`merge_operator_tokens`] can only see from the spelling.
pub(crate) fn spell_not_equals(
    toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
    sql: &str,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    use sqlparser::tokenizer::Token;
    let mut toks = toks;
    for i in 0..toks.len().saturating_sub(1) {
        if toks[i].token != Token::Neq || toks[i + 1].span.start != toks[i].span.end {
            continue;
        }
        let next = toks[i + 1].token.to_string();
        if next.is_empty() || !next.chars().all(|c| OP_CHARS.contains(c)) {
            continue;
        }
        let loc = toks[i].span.start;
        let written = sql
            .split('\n')
            .nth(loc.line.saturating_sub(1) as usize)
            .and_then(|l| l.chars().nth(loc.column.saturating_sub(1) as usize));
        if written == Some('!') {
            toks[i].token = Token::CustomBinaryOperator("!=".into());
        }
    }
    toks
}

/// The function name a prefix operator call is rewritten to (see
/// [`rewrite_prefix_operators`]): a character no identifier holds, then
/// the operator.
const PREFIX_MARK: char = '\u{1}';

/// The operator of a rewritten prefix operator call's function name.
pub(crate) fn prefix_marker_op(name: &str) -> Option<&str> {
    name.strip_prefix(PREFIX_MARK)
}

/// Statement tokens with each user-defined prefix operator application
/// (`@#@ 24`, an operator sqlparser has no prefix grammar for) rewritten
/// as a call `"\u{1}@#@"(24)`, which the binder resolves among pg_operator's
/// prefix operators (bind/useroper.rs). The operand is what PostgreSQL's
/// precedence gives a prefix operator: up to the next comparison or other
/// operator, keyword, comma or closing parenthesis at its level
/// (`+ - * / % ^` and `::` bind tighter and stay inside).
pub(crate) fn rewrite_prefix_operators(
    toks: Vec<sqlparser::tokenizer::TokenWithSpan>,
) -> Vec<sqlparser::tokenizer::TokenWithSpan> {
    use sqlparser::keywords::Keyword as K;
    use sqlparser::tokenizer::{Span, Token, TokenWithSpan, Word};
    if !toks
        .iter()
        .any(|t| matches!(t.token, Token::CustomBinaryOperator(_)))
    {
        return toks;
    }
    let mut toks = toks;
    let significant = |t: &Token| !matches!(t, Token::Whitespace(_));
    let mut i = toks.len();
    while i > 0 {
        i -= 1;
        let Token::CustomBinaryOperator(op) = &toks[i].token else {
            continue;
        };
        let op = op.clone();
        let prev = toks[..i].iter().rev().find(|t| significant(&t.token));
        let prefix = match prev.map(|t| &t.token) {
            None => true,
            Some(Token::LParen | Token::Comma | Token::LBracket) => true,
            Some(Token::Word(w)) if w.quote_style.is_none() => matches!(
                w.keyword,
                K::SELECT
                    | K::WHERE
                    | K::AND
                    | K::OR
                    | K::NOT
                    | K::WHEN
                    | K::THEN
                    | K::ELSE
                    | K::ON
                    | K::BY
                    | K::HAVING
                    | K::RETURN
                    | K::DISTINCT
                    | K::ALL
            ),
            Some(Token::Word(_)) => false,
            Some(t) => {
                let s = t.to_string();
                !s.is_empty() && s.chars().all(|c| OP_CHARS.contains(c))
            }
        };
        if !prefix {
            continue;
        }
        // The operand's extent.
        let mut k = i + 1;
        let mut depth = 0i32;
        let mut last = None;
        let mut value_end = false;
        while k < toks.len() {
            let t = &toks[k].token;
            if !significant(t) {
                k += 1;
                continue;
            }
            match t {
                Token::LParen | Token::LBracket => depth += 1,
                Token::RParen | Token::RBracket if depth == 0 => break,
                Token::RParen | Token::RBracket => depth -= 1,
                Token::Comma | Token::SemiColon | Token::EOF if depth == 0 => break,
                Token::Word(w) if w.quote_style.is_none() && w.keyword == K::CASE => depth += 1,
                Token::Word(w) if w.quote_style.is_none() && w.keyword == K::END && depth > 0 => {
                    depth -= 1
                }
                Token::Word(_) if depth == 0 && value_end => break,
                Token::Word(w)
                    if depth == 0
                        && w.quote_style.is_none()
                        && matches!(
                            w.keyword,
                            K::AS
                                | K::FROM
                                | K::WHERE
                                | K::AND
                                | K::OR
                                | K::BETWEEN
                                | K::LIKE
                                | K::ILIKE
                                | K::IN
                                | K::IS
                                | K::NOT
                                | K::THEN
                                | K::ELSE
                                | K::END
                                | K::WHEN
                                | K::ORDER
                                | K::GROUP
                                | K::LIMIT
                                | K::OFFSET
                                | K::HAVING
                                | K::UNION
                                | K::INTERSECT
                                | K::EXCEPT
                                | K::ON
                                | K::USING
                                | K::INTO
                        ) =>
                {
                    break
                }
                t if depth == 0 && last.is_some() => {
                    let s = t.to_string();
                    let is_op = !s.is_empty() && s.chars().all(|c| OP_CHARS.contains(c));
                    if is_op && !matches!(s.as_str(), "+" | "-" | "*" | "/" | "%" | "^") {
                        break;
                    }
                }
                _ => {}
            }
            value_end = matches!(
                t,
                Token::Number(..)
                    | Token::SingleQuotedString(_)
                    | Token::RParen
                    | Token::RBracket
                    | Token::Word(_)
            ) && depth == 0;
            if let Token::Word(w) = t {
                // A keyword that starts an expression is not its end.
                if w.quote_style.is_none()
                    && matches!(w.keyword, K::CASE | K::NOT | K::ARRAY | K::ROW | K::CAST)
                {
                    value_end = false;
                }
            }
            last = Some(k);
            k += 1;
        }
        let Some(last) = last else {
            continue;
        };
        let op_span = toks[i].span;
        let end = toks[last].span.end;
        let name = TokenWithSpan {
            token: Token::Word(Word {
                value: format!("{PREFIX_MARK}{op}"),
                quote_style: Some('"'),
                keyword: K::NoKeyword,
            }),
            span: op_span,
        };
        let open = TokenWithSpan {
            token: Token::LParen,
            span: op_span,
        };
        let close = TokenWithSpan {
            token: Token::RParen,
            span: Span::new(end, end),
        };
        let operand: Vec<TokenWithSpan> = toks[i + 1..=last].to_vec();
        let mut replacement = vec![name, open];
        replacement.extend(operand);
        replacement.push(close);
        toks.splice(i..=last, replacement);
    }
    toks
}

fn syntax(msg: impl Into<String>) -> PgError {
    PgError::error(sqlstate::SYNTAX_ERROR, msg)
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Word { folded, quoted } if *quoted => format!("\"{folded}\""),
        Tok::Word { folded, .. } => folded.clone(),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Num(n) => n.clone(),
        Tok::Op(o) => o.clone(),
        Tok::Punct(p) => p.to_string(),
    }
}

/// A possibly schema-qualified name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QName {
    pub schema: Option<String>,
    pub name: String,
}

impl QName {
    fn shown(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The value of one `name = value` definition item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DefArg {
    None,
    /// The tokens' text, joined with spaces (a type name, a function
    /// name, a boolean).
    Text(Vec<String>),
    /// An operator name (COMMUTATOR = ===, OPERATOR(s.===)).
    Oper(QName),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AlterAction {
    Owner(String),
    Schema(String),
    Set(Vec<(String, DefArg)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpStmt {
    Create {
        name: QName,
        defs: Vec<(String, DefArg)>,
    },
    Alter {
        name: QName,
        args: (Option<String>, Option<String>),
        action: AlterAction,
    },
    Drop {
        if_exists: bool,
        items: Vec<OperSig>,
        cascade: bool,
    },
    CreateCast {
        source: String,
        target: String,
        /// None WITHOUT FUNCTION, Some(None) WITH INOUT, Some(Some(f))
        /// WITH FUNCTION f(args).
        func: Option<Option<(QName, Option<Vec<String>>)>>,
        context: u8,
    },
    DropCast {
        if_exists: bool,
        source: String,
        target: String,
        cascade: bool,
    },
}

impl OpStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            OpStmt::Create { .. } => "CREATE OPERATOR",
            OpStmt::Alter { .. } => "ALTER OPERATOR",
            OpStmt::Drop { .. } => "DROP OPERATOR",
            OpStmt::CreateCast { .. } => "CREATE CAST",
            OpStmt::DropCast { .. } => "DROP CAST",
        }
    }
}

/// Whether the leading words are a statement of this module.
pub(crate) fn is_operator_statement(w: &[&str]) -> bool {
    match w {
        ["CREATE" | "ALTER" | "DROP", "OPERATOR", third, ..] => {
            !matches!(*third, "CLASS" | "FAMILY")
        }
        ["CREATE" | "ALTER" | "DROP", "OPERATOR"] => true,
        ["CREATE" | "DROP", "CAST", ..] => true,
        _ => false,
    }
}

struct P {
    t: Vec<Tok>,
    /// Each token's character offset in the statement.
    pos: Vec<usize>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i)
    }
    fn kw(&mut self, k: &str) -> bool {
        match self.peek() {
            Some(Tok::Word { folded, quoted }) if !quoted && folded.eq_ignore_ascii_case(k) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    fn expect(&mut self, k: &str) -> Result<(), PgError> {
        if self.kw(k) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_punct(&mut self, c: char) -> Result<(), PgError> {
        if self.punct(c) {
            Ok(())
        } else {
            Err(self.err())
        }
    }
    fn err(&self) -> PgError {
        match self.peek() {
            None => syntax("syntax error at end of input"),
            Some(t) => syntax(format!("syntax error at or near \"{}\"", tok_text(t)))
                .with_position(Some(self.pos[self.i] as u32 + 1)),
        }
    }
    fn word(&mut self) -> Result<String, PgError> {
        match self.peek() {
            Some(Tok::Word { folded, .. }) => {
                let w = folded.clone();
                self.i += 1;
                Ok(w)
            }
            _ => Err(self.err()),
        }
    }
    /// `name` or `schema.name`.
    fn qname(&mut self) -> Result<QName, PgError> {
        let first = self.word()?;
        if self.punct('.') {
            let second = self.word()?;
            return Ok(QName {
                schema: Some(first),
                name: second,
            });
        }
        Ok(QName {
            schema: None,
            name: first,
        })
    }
    /// An operator name: `op`, `schema.op` or `OPERATOR(schema.op)`.
    fn oper_name(&mut self) -> Result<QName, PgError> {
        if let Some(Tok::Op(o)) = self.peek() {
            let o = o.clone();
            if o == "=>" {
                return Err(self.err());
            }
            self.i += 1;
            return Ok(QName {
                schema: None,
                name: o,
            });
        }
        if self.kw("operator") {
            self.expect_punct('(')?;
            let q = self.oper_name()?;
            self.expect_punct(')')?;
            return Ok(q);
        }
        let schema = self.word()?;
        self.expect_punct('.')?;
        match self.peek() {
            Some(Tok::Op(o)) => {
                let o = o.clone();
                self.i += 1;
                Ok(QName {
                    schema: Some(schema),
                    name: o,
                })
            }
            _ => Err(self.err()),
        }
    }
    /// The tokens up to the next `,` or `)` at this nesting level.
    fn until_comma(&mut self) -> Vec<Tok> {
        let mut depth = 0;
        let mut out = Vec::new();
        while let Some(t) = self.peek() {
            match t {
                Tok::Punct(',') | Tok::Punct(')') if depth == 0 => break,
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => depth -= 1,
                _ => {}
            }
            out.push(t.clone());
            self.i += 1;
        }
        out
    }
    /// `(type|NONE, type|NONE)` of an operator signature.
    fn oper_args(&mut self) -> Result<(Option<String>, Option<String>), PgError> {
        self.expect_punct('(')?;
        let l = self.until_comma();
        self.expect_punct(',').map_err(|_| {
            syntax("missing argument")
                .with_hint("Use NONE to denote the missing argument of a unary operator.")
        })?;
        let r = self.until_comma();
        self.expect_punct(')')?;
        let ty = |ts: &[Tok]| -> Result<Option<String>, PgError> {
            if ts.is_empty() {
                return Err(syntax("syntax error"));
            }
            if matches!(ts, [Tok::Word { folded, quoted: false }] if folded == "none") {
                return Ok(None);
            }
            Ok(Some(type_text(ts)))
        };
        Ok((ty(&l)?, ty(&r)?))
    }
    fn end(&self) -> Result<(), PgError> {
        if self.peek().is_some() {
            return Err(self.err());
        }
        Ok(())
    }
    /// `( name [= value] [, ...] )`; ALTER OPERATOR's list needs the
    /// `= value` (`valued`), as PostgreSQL's grammar does.
    fn definition(&mut self, valued: bool) -> Result<Vec<(String, DefArg)>, PgError> {
        self.expect_punct('(')?;
        let mut defs = Vec::new();
        loop {
            let name = self.word()?;
            if valued && !matches!(self.peek(), Some(Tok::Op(o)) if o == "=") {
                return Err(self.err());
            }
            let val = if matches!(self.peek(), Some(Tok::Op(o)) if o == "=") {
                self.i += 1;
                let st = self.i;
                let is_oper = matches!(self.peek(), Some(Tok::Op(_)))
                    || matches!(self.peek(), Some(Tok::Word { folded, quoted: false }) if folded == "operator")
                        && self.t.get(self.i + 1) == Some(&Tok::Punct('('));
                if is_oper {
                    DefArg::Oper(self.oper_name()?)
                } else {
                    let ts = self.until_comma();
                    if ts.is_empty() {
                        return Err(self.err());
                    }
                    // `schema.===` names an operator too.
                    if let [Tok::Word { .. }, Tok::Punct('.'), Tok::Op(_)] = ts.as_slice() {
                        self.i = st;
                        DefArg::Oper(self.oper_name()?)
                    } else if matches!(ts.as_slice(), [Tok::Word { folded, quoted: false }] if folded == "none")
                    {
                        DefArg::None
                    } else {
                        DefArg::Text(ts.iter().map(tok_text).collect())
                    }
                }
            } else {
                DefArg::None
            };
            defs.push((name, val));
            if self.punct(',') {
                continue;
            }
            self.expect_punct(')')?;
            break;
        }
        Ok(defs)
    }
}

/// A type name's tokens as text: words apart, punctuation attached
/// (`double precision`, `varchar(10)`, `s.t`, `int[]`).
fn type_text(ts: &[Tok]) -> String {
    let mut out = String::new();
    let mut prev_word = false;
    for t in ts {
        let word = matches!(t, Tok::Word { .. } | Tok::Num(_));
        if word && prev_word {
            out.push(' ');
        }
        out.push_str(&tok_text(t));
        prev_word = word;
    }
    out
}

pub(crate) fn parse(sql: &str) -> Result<OpStmt, PgError> {
    let (t, pos) = lex(sql)?;
    let mut p = P { t, pos, i: 0 };
    if p.kw("create") {
        if p.kw("cast") {
            let (source, target) = cast_pair(&mut p)?;
            let func = if p.kw("without") {
                p.expect("function")?;
                None
            } else {
                p.expect("with")?;
                if p.kw("inout") {
                    Some(None)
                } else {
                    p.expect("function")?;
                    let name = p.qname()?;
                    let args = if p.punct('(') {
                        let mut args = Vec::new();
                        if !p.punct(')') {
                            loop {
                                let ts = p.until_comma();
                                args.push(type_text(&ts));
                                if p.punct(',') {
                                    continue;
                                }
                                p.expect_punct(')')?;
                                break;
                            }
                        }
                        Some(args)
                    } else {
                        None
                    };
                    Some(Some((name, args)))
                }
            };
            let context = if p.kw("as") {
                if p.kw("implicit") {
                    b'i'
                } else {
                    p.expect("assignment")?;
                    b'a'
                }
            } else {
                b'e'
            };
            p.end()?;
            return Ok(OpStmt::CreateCast {
                source,
                target,
                func,
                context,
            });
        }
        p.expect("operator")?;
        let name = p.oper_name()?;
        let defs = p.definition(false)?;
        p.end()?;
        return Ok(OpStmt::Create { name, defs });
    }
    if p.kw("drop") {
        if p.kw("cast") {
            let if_exists = if p.kw("if") {
                p.expect("exists")?;
                true
            } else {
                false
            };
            let (source, target) = cast_pair(&mut p)?;
            let cascade = drop_behavior(&mut p)?;
            p.end()?;
            return Ok(OpStmt::DropCast {
                if_exists,
                source,
                target,
                cascade,
            });
        }
        p.expect("operator")?;
        let if_exists = if p.kw("if") {
            p.expect("exists")?;
            true
        } else {
            false
        };
        let mut items = Vec::new();
        loop {
            let name = p.oper_name()?;
            let args = p.oper_args()?;
            items.push((name, args));
            if !p.punct(',') {
                break;
            }
        }
        let cascade = drop_behavior(&mut p)?;
        p.end()?;
        return Ok(OpStmt::Drop {
            if_exists,
            items,
            cascade,
        });
    }
    p.expect("alter")?;
    p.expect("operator")?;
    let name = p.oper_name()?;
    let args = p.oper_args()?;
    let action = if p.kw("owner") {
        p.expect("to")?;
        AlterAction::Owner(p.word()?)
    } else {
        p.expect("set")?;
        if p.kw("schema") {
            AlterAction::Schema(p.word()?)
        } else {
            AlterAction::Set(p.definition(true)?)
        }
    };
    p.end()?;
    Ok(OpStmt::Alter { name, args, action })
}

/// An operator's name and argument types as written (None: NONE).
pub(crate) type OperSig = (QName, OperArgs);
/// An operator's argument types as written (None: NONE).
pub(crate) type OperArgs = (Option<String>, Option<String>);
/// CREATE CAST's WITH clause: None WITHOUT FUNCTION, Some(None) WITH
/// INOUT, Some(Some((f, args))) WITH FUNCTION f[(args)].
pub(crate) type CastFunc = Option<Option<(QName, Option<Vec<String>>)>>;

/// The operator of `COMMENT ON OPERATOR name (left, right) IS ...`.
pub(crate) fn comment_target(sql: &str) -> Result<OperSig, PgError> {
    let (t, pos) = lex(sql)?;
    let mut p = P { t, pos, i: 0 };
    p.expect("comment")?;
    p.expect("on")?;
    p.expect("operator")?;
    let name = p.oper_name()?;
    let args = p.oper_args()?;
    p.expect("is")?;
    Ok((name, args))
}

/// Whether the current role owns (has the privileges of the owner of)
/// the operator.
pub(crate) fn owns_operator(host: &mut dyn Host, o: &OperDef) -> Result<bool, PgError> {
    owns(host, o.owner)
}

fn cast_pair(p: &mut P) -> Result<(String, String), PgError> {
    p.expect_punct('(')?;
    let st = p.i;
    let mut depth = 0;
    while let Some(t) = p.peek() {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Word {
                folded,
                quoted: false,
            } if folded == "as" && depth == 0 => break,
            _ => {}
        }
        p.i += 1;
    }
    let source = type_text(&p.t[st..p.i]);
    p.expect("as")?;
    let st = p.i;
    let mut depth = 0;
    while let Some(t) = p.peek() {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') if depth == 0 => break,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        p.i += 1;
    }
    let target = type_text(&p.t[st..p.i]);
    p.expect_punct(')')?;
    Ok((source, target))
}

fn drop_behavior(p: &mut P) -> Result<bool, PgError> {
    if p.kw("cascade") {
        return Ok(true);
    }
    p.kw("restrict");
    Ok(false)
}

// ---------------------------------------------------------------------
// Running.

fn err(code: tusk_common::SqlState, msg: impl Into<String>) -> PgError {
    PgError::error(code, msg)
}

fn warning(msg: impl Into<String>) -> PgError {
    PgError::new(Severity::Warning, sqlstate::SYNTAX_ERROR, msg)
}

fn notice(msg: impl Into<String>) -> PgError {
    PgError::new(Severity::Notice, sqlstate::SUCCESSFUL_COMPLETION, msg)
}

const INVALID_FUNCTION_DEFINITION: tusk_common::SqlState = tusk_common::SqlState::new("42P13");
const DUPLICATE_FUNCTION: tusk_common::SqlState = tusk_common::SqlState::new("42723");
const DUPLICATE_OBJECT: tusk_common::SqlState = tusk_common::SqlState::new("42710");
const INVALID_SCHEMA_NAME: tusk_common::SqlState = tusk_common::SqlState::new("3F000");

fn q(
    host: &mut dyn Host,
    sql: &str,
    ptypes: &[u32],
    params: Vec<Value>,
) -> Result<Vec<crate::Row>, PgError> {
    crate::fdw::q(host, sql, ptypes, params)
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::Text(s)) | Some(Value::Name(s)) => s.clone(),
        Some(v) => crate::value::to_text(v).unwrap_or_default(),
        None => String::new(),
    }
}

fn namespace_oid(host: &mut dyn Host, name: &str) -> Result<Option<u32>, PgError> {
    let rows = q(
        host,
        "SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = $1",
        &[types::TEXT],
        vec![Value::Text(name.to_string())],
    )?;
    Ok(rows.first().map(|r| oid_of(&r[0])))
}

fn no_schema(name: &str) -> PgError {
    err(
        INVALID_SCHEMA_NAME,
        format!("schema \"{name}\" does not exist"),
    )
}

/// The namespace a new object named `n` goes to: its schema, or the
/// first existing schema of search_path.
fn creation_namespace(host: &mut dyn Host, n: &QName) -> Result<(u32, String), PgError> {
    if let Some(s) = &n.schema {
        return match namespace_oid(host, s)? {
            Some(o) => Ok((o, s.clone())),
            None => Err(no_schema(s)),
        };
    }
    // The first schema of search_path that exists ($user expanded,
    // pg_temp skipped), as PostgreSQL's creation namespace.
    let path = host.show("search_path").unwrap_or_default();
    for part in path.split(',') {
        let p = part.trim();
        let name = if p == "\"$user\"" || p == "$user" {
            host.identity().user.clone()
        } else if p.starts_with('"') {
            p.trim_matches('"').to_string()
        } else {
            p.to_lowercase()
        };
        if name.is_empty() || name.starts_with("pg_temp") {
            continue;
        }
        if let Some(o) = namespace_oid(host, &name)? {
            return Ok((o, name));
        }
    }
    Err(err(
        INVALID_SCHEMA_NAME,
        "no schema has been selected to create in",
    ))
}

fn check_schema_create(host: &mut dyn Host, ns: u32, name: &str) -> Result<(), PgError> {
    let rows = query(
        host,
        "SELECT pg_catalog.has_schema_privilege($1, 'CREATE')",
        &[types::OID],
        vec![Value::Oid(ns)],
    )?;
    if matches!(
        rows.first().and_then(|r| r.first()),
        Some(Value::Bool(false))
    ) {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for schema {name}"),
        ));
    }
    Ok(())
}

fn check_type_usage(host: &mut dyn Host, ty: Oid) -> Result<(), PgError> {
    if ty < FIRST_UNPINNED {
        return Ok(());
    }
    let rows = query(
        host,
        "SELECT pg_catalog.has_type_privilege($1, 'USAGE')",
        &[types::OID],
        vec![Value::Oid(ty)],
    )?;
    if matches!(
        rows.first().and_then(|r| r.first()),
        Some(Value::Bool(false))
    ) {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("permission denied for type {}", type_name(host, ty)?),
        ));
    }
    Ok(())
}

fn type_name(host: &mut dyn Host, ty: Oid) -> Result<String, PgError> {
    if ty == INTERNAL {
        return Ok("internal".into());
    }
    crate::sysinfo::format_type(host, ty, None)
}

/// A type name as PostgreSQL's TypeNameToString prints what was written
/// (the SQL-standard spellings are pg_catalog's internal names).
fn written_type_name(text: &str) -> String {
    let t = text.trim();
    if t.starts_with('"') {
        return t.trim_matches('"').to_string();
    }
    let lower = t.to_lowercase();
    let internal = match lower.as_str() {
        "integer" | "int" => "int4",
        "smallint" => "int2",
        "bigint" => "int8",
        "real" => "float4",
        "double precision" | "float" => "float8",
        "boolean" => "bool",
        "numeric" | "decimal" => "numeric",
        "varchar" | "character varying" => "varchar",
        "char" | "character" => "bpchar",
        _ => return lower,
    };
    format!("pg_catalog.{internal}")
}

/// A type name as CREATE OPERATOR reads it; SETOF refused.
fn resolve_type(host: &mut dyn Host, text: &str) -> Result<Oid, PgError> {
    Ok(crate::routine::resolve_type(&*host, text)?.oid)
}

/// Under IF EXISTS: the notice for a type name that resolves to
/// nothing (its schema missing, or the type), None when it exists.
fn missing_type_notice(host: &mut dyn Host, t: &str) -> Result<Option<String>, PgError> {
    if crate::routine::resolve_type(&*host, t).is_ok() {
        return Ok(None);
    }
    if let Some((sch, _)) = t.split_once('.') {
        let sch = sch.trim().trim_matches('"');
        if namespace_oid(host, sch)?.is_none() {
            return Ok(Some(format!("schema \"{sch}\" does not exist, skipping")));
        }
    }
    Ok(Some(format!("type \"{t}\" does not exist, skipping")))
}

fn is_setof(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("setof"))
}

/// A function found by name and exact argument types.
#[derive(Debug, Clone)]
enum Proc {
    User(Rc<crate::catalog::FuncDef>),
    Builtin(&'static BuiltinProc),
}

impl Proc {
    fn oid(&self) -> u32 {
        match self {
            Proc::User(f) => f.oid,
            Proc::Builtin(b) => b.oid,
        }
    }
    fn ret(&self) -> Oid {
        match self {
            Proc::User(f) => f.ret,
            Proc::Builtin(b) => b.ret,
        }
    }
}

fn lookup_func(host: &mut dyn Host, name: &QName, args: &[Oid]) -> Result<Option<Proc>, PgError> {
    let cands = host.lookup_routines(name.schema.as_deref(), &name.name)?;
    if let Some(f) = cands.iter().find(|f| f.arg_types == args && f.kind != b'p') {
        return Ok(Some(Proc::User(f.clone())));
    }
    if name.schema.as_deref().is_none_or(|s| s == "pg_catalog") {
        if let Some(b) = BUILTIN_PROCS
            .iter()
            .find(|b| b.name == name.name && b.args == args)
        {
            return Ok(Some(Proc::Builtin(b)));
        }
    }
    Ok(None)
}

fn func_signature(host: &mut dyn Host, name: &QName, args: &[Oid]) -> Result<String, PgError> {
    let mut a = Vec::new();
    for t in args {
        a.push(type_name(host, *t)?);
    }
    Ok(format!("{}({})", name.shown(), a.join(", ")))
}

fn no_function(host: &mut dyn Host, name: &QName, args: &[Oid]) -> Result<PgError, PgError> {
    Ok(err(
        sqlstate::UNDEFINED_FUNCTION,
        format!(
            "function {} does not exist",
            func_signature(host, name, args)?
        ),
    ))
}

fn def_name(arg: &DefArg) -> Option<QName> {
    match arg {
        DefArg::Text(ts) => {
            let joined: String = ts.concat();
            match joined.split_once('.') {
                Some((s, n)) => Some(QName {
                    schema: Some(s.to_string()),
                    name: n.to_string(),
                }),
                None => Some(QName {
                    schema: None,
                    name: joined,
                }),
            }
        }
        DefArg::Oper(q) => Some(q.clone()),
        DefArg::None => None,
    }
}

fn def_bool(name: &str, arg: &DefArg) -> Result<bool, PgError> {
    match arg {
        DefArg::None => Ok(true),
        DefArg::Text(ts) => match ts.concat().to_ascii_lowercase().as_str() {
            "true" | "on" | "1" => Ok(true),
            "false" | "off" | "0" => Ok(false),
            _ => Err(err(
                sqlstate::SYNTAX_ERROR,
                format!("{name} requires a Boolean value"),
            )),
        },
        DefArg::Oper(_) => Err(err(
            sqlstate::SYNTAX_ERROR,
            format!("{name} requires a Boolean value"),
        )),
    }
}

/// ValidateRestrictionEstimator / ValidateJoinEstimator.
fn estimator(host: &mut dyn Host, name: &QName, join: bool) -> Result<u32, PgError> {
    let args: &[Oid] = if join { J5 } else { R4 };
    let Some(p) = lookup_func(host, name, args)? else {
        return Err(no_function(host, name, args)?);
    };
    if p.ret() != types::FLOAT8 {
        return Err(err(
            sqlstate::INVALID_OBJECT_DEFINITION,
            format!(
                "{} estimator function {} must return type double precision",
                if join { "join" } else { "restriction" },
                name.shown()
            ),
        ));
    }
    if let Proc::User(f) = &p {
        acl::check_routine(&*host, f)?;
    }
    Ok(p.oid())
}

/// The operator `name(left, right)` in its schema or along search_path.
fn find_operator(
    host: &mut dyn Host,
    name: &QName,
    left: Oid,
    right: Oid,
) -> Result<Option<OperDef>, PgError> {
    let cat = host.user_operators()?;
    let path = match &name.schema {
        Some(s) => match namespace_oid(host, s)? {
            Some(o) => vec![o],
            None => return Err(no_schema(s)),
        },
        None => crate::sysinfo::search_path(host)?,
    };
    for ns in path {
        if let Some(o) = cat.ops.iter().find(|o| {
            o.namespace == ns && o.name == name.name && o.left == left && o.right == right
        }) {
            return Ok(Some(o.clone()));
        }
    }
    Ok(None)
}

fn op_by_oid(host: &mut dyn Host, oid: u32) -> Result<Option<OperDef>, PgError> {
    Ok(host
        .user_operators()?
        .ops
        .iter()
        .find(|o| o.oid == oid)
        .cloned())
}

fn me(host: &mut dyn Host) -> Result<(u32, bool), PgError> {
    let roles = host.acl_roles()?;
    let oid = acl::current_user_oid(&*host)?;
    Ok((
        oid,
        roles.by_oid(oid).is_some_and(|r| r.superuser)
            || host.identity().is_superuser && roles.by_oid(oid).is_none(),
    ))
}

fn owns(host: &mut dyn Host, owner: u32) -> Result<bool, PgError> {
    let roles = host.acl_roles()?;
    let (me, superuser) = me(host)?;
    Ok(superuser || roles.has_privs_of(me, owner))
}

fn not_owner_op(name: &str) -> PgError {
    err(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!("must be owner of operator {name}"),
    )
}

fn add_dep(
    host: &mut dyn Host,
    class: u32,
    oid: u32,
    refclass: u32,
    refoid: u32,
) -> Result<(), PgError> {
    if refoid == 0
        || (refoid < FIRST_UNPINNED && !(refclass == PG_NAMESPACE && refoid == PUBLIC_NS))
    {
        return Ok(());
    }
    q(
        host,
        "INSERT INTO pg_catalog.pg_depend VALUES ($1, $2, 0, $3, $4, 0, 'n')",
        &[types::OID, types::OID, types::OID, types::OID],
        vec![
            Value::Oid(class),
            Value::Oid(oid),
            Value::Oid(refclass),
            Value::Oid(refoid),
        ],
    )?;
    Ok(())
}

fn clear_deps(host: &mut dyn Host, class: u32, oid: u32) -> Result<(), PgError> {
    q(
        host,
        "DELETE FROM pg_catalog.pg_depend WHERE classid = $1 AND objid = $2",
        &[types::OID, types::OID],
        vec![Value::Oid(class), Value::Oid(oid)],
    )?;
    Ok(())
}

/// makeOperatorDependencies: the schema, the argument and result types,
/// the function and the estimators (pinned ones have no rows).
fn operator_deps(host: &mut dyn Host, o: &OperDef) -> Result<(), PgError> {
    clear_deps(host, PG_OPERATOR, o.oid)?;
    add_dep(host, PG_OPERATOR, o.oid, PG_NAMESPACE, o.namespace)?;
    for t in [o.left, o.right, o.result] {
        add_dep(host, PG_OPERATOR, o.oid, PG_TYPE, t)?;
    }
    for f in [o.code, o.rest, o.join] {
        add_dep(host, PG_OPERATOR, o.oid, PG_PROC, f)?;
    }
    Ok(())
}

const OPER_COLS: &[u32] = &[
    types::OID,
    types::TEXT,
    types::OID,
    types::OID,
    types::CHAR,
    types::BOOL,
    types::BOOL,
    types::OID,
    types::OID,
    types::OID,
    types::OID,
    types::OID,
    types::OID,
    types::OID,
    types::OID,
];

fn oper_values(o: &OperDef) -> Vec<Value> {
    vec![
        Value::Oid(o.oid),
        Value::Text(o.name.clone()),
        Value::Oid(o.namespace),
        Value::Oid(o.owner),
        Value::Char(o.kind),
        Value::Bool(o.can_merge),
        Value::Bool(o.can_hash),
        Value::Oid(o.left),
        Value::Oid(o.right),
        Value::Oid(o.result),
        Value::Oid(o.com),
        Value::Oid(o.negate),
        Value::Oid(o.code),
        Value::Oid(o.rest),
        Value::Oid(o.join),
    ]
}

/// Writes `o` (a new row, or the row with its OID replaced).
fn store_operator(host: &mut dyn Host, o: &OperDef, replace: bool) -> Result<(), PgError> {
    if replace {
        q(
            host,
            "DELETE FROM pg_catalog.pg_operator WHERE oid = $1",
            &[types::OID],
            vec![Value::Oid(o.oid)],
        )?;
    }
    q(
        host,
        "INSERT INTO pg_catalog.pg_operator VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::oid::regproc, $14::oid::regproc, $15::oid::regproc)",
        OPER_COLS,
        oper_values(o),
    )?;
    Ok(())
}

/// OperatorShellMake: a placeholder row for a commutator or negator
/// named before it is defined.
fn make_shell(
    host: &mut dyn Host,
    name: &str,
    ns: u32,
    left: Oid,
    right: Oid,
) -> Result<u32, PgError> {
    let (owner, _) = me(host)?;
    let oid = host.tables()?.new_catalog_oid()?;
    let o = OperDef {
        oid,
        name: name.to_string(),
        namespace: ns,
        schema: String::new(),
        owner,
        kind: if left == 0 { b'l' } else { b'b' },
        left,
        right,
        result: 0,
        com: 0,
        negate: 0,
        code: 0,
        rest: 0,
        join: 0,
        can_merge: false,
        can_hash: false,
    };
    store_operator(host, &o, false)?;
    operator_deps(host, &o)?;
    Ok(oid)
}

/// get_other_operator: the commutator or negator named, made as a shell
/// when missing; 0 for the operator being defined itself (a self
/// commutator, fixed by the caller).
#[allow(clippy::too_many_arguments)]
fn other_operator(
    host: &mut dyn Host,
    other: &QName,
    other_left: Oid,
    other_right: Oid,
    name: &str,
    ns: u32,
    left: Oid,
    right: Oid,
    commutator: bool,
) -> Result<u32, PgError> {
    if let Some(o) = find_operator(host, other, other_left, other_right)? {
        return Ok(o.oid);
    }
    let (other_ns, other_ns_name) = creation_namespace(host, other)?;
    if other.name == name && other_ns == ns && other_left == left && other_right == right {
        if !commutator {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "operator cannot be its own negator or sort operator",
            ));
        }
        return Ok(0);
    }
    check_schema_create(host, other_ns, &other_ns_name)?;
    if !valid_operator_name(&other.name) {
        return Err(err(
            sqlstate::INVALID_NAME,
            format!("\"{}\" is not a valid operator name", other.name),
        ));
    }
    make_shell(host, &other.name, other_ns, other_left, other_right)
}

/// validOperatorName.
fn valid_operator_name(name: &str) -> bool {
    if name.is_empty() || name.len() >= 64 {
        return false;
    }
    if !name.chars().all(|c| OP_CHARS.contains(c)) {
        return false;
    }
    if name.contains("/*") || name.contains("--") {
        return false;
    }
    let b = name.as_bytes();
    if b.len() > 1
        && matches!(b[b.len() - 1], b'+' | b'-')
        && !name[..name.len() - 1]
            .chars()
            .any(|c| "~!@#^&|`?%".contains(c))
    {
        return false;
    }
    name != "!="
}

/// OperatorUpd: point the commutator and negator back at `base` when
/// they have none (or, on delete, clear links to it).
fn link_others(
    host: &mut dyn Host,
    base: u32,
    com: u32,
    neg: u32,
    delete: bool,
) -> Result<(), PgError> {
    for (other, is_com) in [(com, true), (neg, false)] {
        if other == 0 || (other == base && !delete) {
            continue;
        }
        let Some(mut o) = op_by_oid(host, other)? else {
            continue;
        };
        let field = if is_com { &mut o.com } else { &mut o.negate };
        let changed = if delete {
            if *field == base {
                *field = 0;
                true
            } else {
                false
            }
        } else if *field == 0 {
            *field = base;
            true
        } else {
            false
        };
        if changed {
            store_operator(host, &o, true)?;
        }
    }
    Ok(())
}

fn run_create(host: &mut dyn Host, name: &QName, defs: &[(String, DefArg)]) -> Result<(), PgError> {
    let (ns, ns_name) = creation_namespace(host, name)?;
    check_schema_create(host, ns, &ns_name)?;
    let mut left_t = None;
    let mut right_t = None;
    let mut func = None;
    let mut com = None;
    let mut neg = None;
    let mut rest = None;
    let mut join = None;
    let mut can_hash = false;
    let mut can_merge = false;
    for (k, v) in defs {
        match k.as_str() {
            "leftarg" | "rightarg" => {
                let t = match v {
                    DefArg::Text(ts) => ts.join(" "),
                    _ => {
                        return Err(err(
                            sqlstate::SYNTAX_ERROR,
                            format!("{k} requires a parameter"),
                        ))
                    }
                };
                if is_setof(&t) {
                    return Err(err(
                        INVALID_FUNCTION_DEFINITION,
                        "SETOF type not allowed for operator argument",
                    ));
                }
                if k == "leftarg" {
                    left_t = Some(t);
                } else {
                    right_t = Some(t);
                }
            }
            "function" | "procedure" => func = def_name(v),
            "commutator" => com = def_name(v),
            "negator" => neg = def_name(v),
            "restrict" => rest = def_name(v),
            "join" => join = def_name(v),
            "hashes" => can_hash = def_bool(k, v)?,
            "merges" => can_merge = def_bool(k, v)?,
            "sort1" | "sort2" | "ltcmp" | "gtcmp" => can_merge = true,
            _ => host.notice(warning(format!(
                "operator attribute \"{k}\" not recognized"
            ))),
        }
    }
    let Some(func) = func else {
        return Err(err(
            INVALID_FUNCTION_DEFINITION,
            "operator function must be specified",
        ));
    };
    let left = match &left_t {
        Some(t) => resolve_type(host, t)?,
        None => 0,
    };
    let right = match &right_t {
        Some(t) => resolve_type(host, t)?,
        None => 0,
    };
    if left == 0 && right == 0 {
        return Err(err(
            INVALID_FUNCTION_DEFINITION,
            "operator argument types must be specified",
        ));
    }
    if right == 0 {
        return Err(err(
            INVALID_FUNCTION_DEFINITION,
            "operator right argument type must be specified",
        )
        .with_detail("Postfix operators are not supported."));
    }
    if left != 0 {
        check_type_usage(host, left)?;
    }
    check_type_usage(host, right)?;
    let args: Vec<Oid> = if left != 0 {
        vec![left, right]
    } else {
        vec![right]
    };
    let Some(proc) = lookup_func(host, &func, &args)? else {
        return Err(no_function(host, &func, &args)?);
    };
    if let Proc::User(f) = &proc {
        acl::check_routine(&*host, f)?;
    }
    let result = proc.ret();
    check_type_usage(host, result)?;
    let rest_oid = match &rest {
        Some(r) => estimator(host, r, false)?,
        None => 0,
    };
    let join_oid = match &join {
        Some(j) => estimator(host, j, true)?,
        None => 0,
    };
    // OperatorCreate.
    if !valid_operator_name(&name.name) {
        return Err(err(
            sqlstate::INVALID_NAME,
            format!("\"{}\" is not a valid operator name", name.name),
        ));
    }
    if left == 0 {
        if com.is_some() {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only binary operators can have commutators",
            ));
        }
        if join_oid != 0 {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only binary operators can have join selectivity",
            ));
        }
        if can_merge {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only binary operators can merge join",
            ));
        }
        if can_hash {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only binary operators can hash",
            ));
        }
    }
    if result != types::BOOL {
        if neg.is_some() {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only boolean operators can have negators",
            ));
        }
        if rest_oid != 0 {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only boolean operators can have restriction selectivity",
            ));
        }
        if join_oid != 0 {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only boolean operators can have join selectivity",
            ));
        }
        if can_merge {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only boolean operators can merge join",
            ));
        }
        if can_hash {
            return Err(err(
                INVALID_FUNCTION_DEFINITION,
                "only boolean operators can hash",
            ));
        }
    }
    let here = QName {
        schema: Some(ns_name.clone()),
        name: name.name.clone(),
    };
    let existing = find_operator(host, &here, left, right)?;
    if let Some(e) = &existing {
        if e.code != 0 {
            return Err(err(
                DUPLICATE_FUNCTION,
                format!("operator {} already exists", name.name),
            ));
        }
        if !owns(host, e.owner)? {
            return Err(not_owner_op(&name.name));
        }
    }
    let mut self_com = false;
    let com_oid = match &com {
        Some(c) => {
            let id = other_operator(host, c, right, left, &name.name, ns, left, right, true)?;
            if id != 0 {
                let o = op_by_oid(host, id)?;
                if let Some(o) = o {
                    if !owns(host, o.owner)? {
                        return Err(not_owner_op(&c.shown()));
                    }
                }
            } else {
                self_com = true;
            }
            id
        }
        None => 0,
    };
    let neg_oid = match &neg {
        Some(n) => {
            let id = other_operator(host, n, left, right, &name.name, ns, left, right, false)?;
            if let Some(o) = op_by_oid(host, id)? {
                if !owns(host, o.owner)? {
                    return Err(not_owner_op(&n.shown()));
                }
            }
            id
        }
        None => 0,
    };
    let (owner, _) = me(host)?;
    let oid = match &existing {
        Some(e) => e.oid,
        None => host.tables()?.new_catalog_oid()?,
    };
    let o = OperDef {
        oid,
        name: name.name.clone(),
        namespace: ns,
        schema: ns_name,
        owner: existing.as_ref().map_or(owner, |e| e.owner),
        kind: if left == 0 { b'l' } else { b'b' },
        left,
        right,
        result,
        com: if self_com { oid } else { com_oid },
        negate: neg_oid,
        code: proc.oid(),
        rest: rest_oid,
        join: join_oid,
        can_merge,
        can_hash,
    };
    store_operator(host, &o, existing.is_some())?;
    operator_deps(host, &o)?;
    link_others(host, oid, com_oid, neg_oid, false)?;
    Ok(())
}

/// The argument types of an operator signature (NONE is 0); postfix
/// signatures refused as PostgreSQL 15 refuses them.
fn sig_types(
    host: &mut dyn Host,
    args: &(Option<String>, Option<String>),
) -> Result<(Oid, Oid), PgError> {
    if args.1.is_none() {
        return Err(err(
            sqlstate::SYNTAX_ERROR,
            "postfix operators are not supported",
        ));
    }
    let l = match &args.0 {
        Some(t) => resolve_type(host, t)?,
        None => 0,
    };
    let r = resolve_type(host, args.1.as_deref().unwrap_or(""))?;
    Ok((l, r))
}

fn no_operator(host: &mut dyn Host, name: &QName, l: Oid, r: Oid) -> Result<PgError, PgError> {
    let shown = if l == 0 {
        format!("{} {}", name.shown(), type_name(host, r)?)
    } else {
        format!(
            "{} {} {}",
            type_name(host, l)?,
            name.shown(),
            type_name(host, r)?
        )
    };
    Ok(err(
        sqlstate::UNDEFINED_FUNCTION,
        format!("operator does not exist: {shown}"),
    ))
}

/// The operator a DROP, ALTER or COMMENT names, or its error.
pub(crate) fn lookup_with_args(
    host: &mut dyn Host,
    name: &QName,
    args: &(Option<String>, Option<String>),
) -> Result<OperDef, PgError> {
    let (l, r) = sig_types(host, args)?;
    match find_operator(host, name, l, r)? {
        Some(o) => Ok(o),
        None => Err(no_operator(host, name, l, r)?),
    }
}

/// Describes an operator as pg_describe_object does:
/// `operator ===(boolean,boolean)`.
pub(crate) fn describe(host: &mut dyn Host, o: &OperDef) -> Result<String, PgError> {
    let l = if o.left == 0 {
        "NONE".to_string()
    } else {
        type_name(host, o.left)?
    };
    let r = type_name(host, o.right)?;
    Ok(format!("operator {}({l},{r})", o.name))
}

/// pg_operator_is_visible: the first operator of its name and argument
/// types along search_path is this one (None: no such operator).
pub(crate) fn is_visible(host: &mut dyn Host, oid: u32) -> Result<Option<bool>, PgError> {
    let Some(o) = op_by_oid(host, oid)? else {
        return Ok(None);
    };
    let name = QName {
        schema: None,
        name: o.name.clone(),
    };
    Ok(Some(
        find_operator(host, &name, o.left, o.right)?.is_some_and(|f| f.oid == oid),
    ))
}

/// pg_describe_object for the catalogs user objects live in.
pub(crate) fn describe_object(
    host: &mut dyn Host,
    class: u32,
    oid: u32,
    sub: i32,
) -> Result<Option<String>, PgError> {
    let one = |host: &mut dyn Host, sql: &str| -> Result<Option<Vec<Value>>, PgError> {
        Ok(query(host, sql, &[types::OID], vec![Value::Oid(oid)])?
            .into_iter()
            .next())
    };
    Ok(match class {
        PG_OPERATOR => match op_by_oid(host, oid)? {
            Some(o) => Some(describe(host, &o)?),
            None => None,
        },
        PG_CAST => {
            let c = host
                .user_operators()?
                .casts
                .iter()
                .find(|c| c.oid == oid)
                .cloned();
            match c {
                Some(c) => Some(format!(
                    "cast from {} to {}",
                    type_name(host, c.source)?,
                    type_name(host, c.target)?
                )),
                None => None,
            }
        }
        PG_PROC => {
            if let Some(f) = host.routine_by_oid(oid)? {
                let mut args = Vec::new();
                for t in &f.arg_types {
                    args.push(type_name(host, *t)?);
                }
                let what = match f.kind {
                    b'p' => "procedure",
                    b'a' => "aggregate",
                    _ => "function",
                };
                Some(format!("{what} {}({})", f.name, args.join(",")))
            } else {
                builtin_proc(oid).map(|p| {
                    let args: Vec<String> = p.args.iter().map(|&t| types::sql_name(t)).collect();
                    format!("function {}({})", p.name, args.join(","))
                })
            }
        }
        PG_TYPE => Some(format!("type {}", type_name(host, oid)?)),
        PG_NAMESPACE => one(
            host,
            "SELECT nspname::text FROM pg_catalog.pg_namespace WHERE oid = $1",
        )?
        .map(|r| format!("schema {}", text(r.first()))),
        1259 => {
            let Some(r) = one(
                host,
                "SELECT relname::text, relkind FROM pg_catalog.pg_class WHERE oid = $1",
            )?
            else {
                return Ok(None);
            };
            let kind = match r.get(1) {
                Some(Value::Char(c)) => *c,
                _ => b'r',
            };
            let what = match kind {
                b'i' | b'I' => "index",
                b'S' => "sequence",
                b'v' => "view",
                b'm' => "materialized view",
                b'c' => "composite type",
                b'f' => "foreign table",
                b't' => "toast table",
                _ => "table",
            };
            let name = text(r.first());
            if sub > 0 {
                let col = query(
                    host,
                    "SELECT attname::text FROM pg_catalog.pg_attribute WHERE attrelid = $1 AND attnum = $2",
                    &[types::OID, types::INT4],
                    vec![Value::Oid(oid), Value::Int4(sub)],
                )?;
                let c = text(col.first().and_then(|r| r.first()));
                Some(format!("{what} {name} column {c}"))
            } else {
                Some(format!("{what} {name}"))
            }
        }
        _ => None,
    })
}

fn run_drop(host: &mut dyn Host, if_exists: bool, items: &[OperSig]) -> Result<(), PgError> {
    let mut victims = Vec::new();
    for (name, args) in items {
        if if_exists {
            // Missing schemas and types are notices under IF EXISTS.
            if let Some(s) = &name.schema {
                if namespace_oid(host, s)?.is_none() {
                    host.notice(notice(format!("schema \"{s}\" does not exist, skipping")));
                    continue;
                }
            }
            let mut missing = None;
            for t in [&args.0, &args.1].into_iter().flatten() {
                if let Some(m) = missing_type_notice(host, t)? {
                    missing = Some(m);
                    break;
                }
            }
            if let Some(m) = missing {
                host.notice(notice(m));
                continue;
            }
            if args.1.is_none() {
                return Err(err(
                    sqlstate::SYNTAX_ERROR,
                    "postfix operators are not supported",
                ));
            }
            let (l, r) = sig_types(host, args)?;
            match find_operator(host, name, l, r)? {
                Some(o) => victims.push(o),
                None => host.notice(notice(format!(
                    "operator {} does not exist, skipping",
                    name.shown()
                ))),
            }
            continue;
        }
        victims.push(lookup_with_args(host, name, args)?);
    }
    for o in &victims {
        if !owns(host, o.owner)? {
            return Err(not_owner_op(&o.name));
        }
    }
    for o in victims {
        delete_operator(host, &o)?;
    }
    Ok(())
}

pub(crate) fn delete_operator(host: &mut dyn Host, o: &OperDef) -> Result<(), PgError> {
    // Other operators naming this one as commutator or negator lose
    // the link (OperatorUpd with isDelete).
    let others: Vec<OperDef> = host
        .user_operators()?
        .ops
        .iter()
        .filter(|x| x.oid != o.oid && (x.com == o.oid || x.negate == o.oid))
        .cloned()
        .collect();
    for mut x in others {
        if x.com == o.oid {
            x.com = 0;
        }
        if x.negate == o.oid {
            x.negate = 0;
        }
        store_operator(host, &x, true)?;
    }
    q(
        host,
        "DELETE FROM pg_catalog.pg_operator WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(o.oid)],
    )?;
    clear_deps(host, PG_OPERATOR, o.oid)?;
    q(
        host,
        "DELETE FROM pg_catalog.pg_description WHERE objoid = $1 AND classoid = $2",
        &[types::OID, types::OID],
        vec![Value::Oid(o.oid), Value::Oid(PG_OPERATOR)],
    )?;
    Ok(())
}

fn run_alter(
    host: &mut dyn Host,
    name: &QName,
    args: &(Option<String>, Option<String>),
    action: &AlterAction,
) -> Result<(), PgError> {
    let mut o = lookup_with_args(host, name, args)?;
    match action {
        AlterAction::Owner(role) => {
            let roles = host.acl_roles()?;
            let Some(new) = roles.by_name(role).map(|r| r.oid) else {
                return Err(err(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("role \"{role}\" does not exist"),
                ));
            };
            if new == o.owner {
                return Ok(());
            }
            let (me_oid, superuser) = me(host)?;
            if !superuser {
                if !roles.has_privs_of(me_oid, o.owner) {
                    return Err(not_owner_op(&o.name));
                }
                if !roles.has_privs_of(me_oid, new) {
                    return Err(err(
                        sqlstate::INSUFFICIENT_PRIVILEGE,
                        format!("must be member of role \"{role}\""),
                    ));
                }
                let sname = o.schema.clone();
                check_schema_create(host, o.namespace, &sname)?;
            }
            o.owner = new;
            store_operator(host, &o, true)?;
        }
        AlterAction::Schema(s) => {
            let Some(ns) = namespace_oid(host, s)? else {
                return Err(no_schema(s));
            };
            if !owns(host, o.owner)? {
                return Err(not_owner_op(&o.name));
            }
            check_schema_create(host, ns, s)?;
            if ns == o.namespace {
                return Ok(());
            }
            let taken = host.user_operators()?.ops.iter().any(|x| {
                x.namespace == ns && x.name == o.name && x.left == o.left && x.right == o.right
            });
            if taken {
                let shown = describe(host, &o)?;
                return Err(err(
                    DUPLICATE_FUNCTION,
                    format!("{shown} already exists in schema \"{s}\""),
                ));
            }
            o.namespace = ns;
            store_operator(host, &o, true)?;
            operator_deps(host, &o)?;
        }
        AlterAction::Set(defs) => {
            let mut rest = None;
            let mut join = None;
            for (k, v) in defs {
                match k.as_str() {
                    "restrict" => rest = Some(def_name(v)),
                    "join" => join = Some(def_name(v)),
                    "commutator" | "negator" | "hashes" | "merges" => {
                        return Err(err(
                            sqlstate::SYNTAX_ERROR,
                            format!("operator attribute \"{k}\" cannot be changed"),
                        ))
                    }
                    _ => {
                        return Err(err(
                            sqlstate::SYNTAX_ERROR,
                            format!("operator attribute \"{k}\" not recognized"),
                        ))
                    }
                }
            }
            let rest_oid = match &rest {
                Some(Some(r)) => Some(estimator(host, r, false)?),
                Some(None) => Some(0),
                None => None,
            };
            let join_oid = match &join {
                Some(Some(j)) => Some(estimator(host, j, true)?),
                Some(None) => Some(0),
                None => None,
            };
            if !owns(host, o.owner)? {
                return Err(not_owner_op(&o.name));
            }
            if let Some(r) = rest_oid {
                o.rest = r;
            }
            if let Some(j) = join_oid {
                o.join = j;
            }
            store_operator(host, &o, true)?;
            operator_deps(host, &o)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------
// Casts.

fn type_owner(host: &mut dyn Host, ty: Oid) -> Result<Option<u32>, PgError> {
    if ty < FIRST_UNPINNED {
        return Ok(Some(10));
    }
    let rows = q(
        host,
        "SELECT typowner FROM pg_catalog.pg_type WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(ty)],
    )?;
    Ok(rows.first().map(|r| oid_of(&r[0])))
}

fn typtype(host: &mut dyn Host, ty: Oid) -> Result<u8, PgError> {
    if ty < FIRST_UNPINNED {
        return Ok(
            if matches!(
                ty,
                2249 | 2275
                    | 2276
                    | 2277
                    | 2278
                    | 2279
                    | 2280
                    | 2281
                    | 2282
                    | 2283
                    | 2776
                    | 3500
                    | 3831
                    | 4537
                    | 4538
                    | 5077
                    | 5078
                    | 5079
                    | 5080
                    | 3115
                    | 325
                    | 269
                    | 3310
                    | 32
            ) {
                b'p'
            } else {
                b'b'
            },
        );
    }
    let rows = q(
        host,
        "SELECT typtype FROM pg_catalog.pg_type WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(ty)],
    )?;
    Ok(match rows.first().map(|r| r[0].clone()) {
        Some(Value::Char(c)) => c,
        Some(Value::Text(s)) => s.bytes().next().unwrap_or(b'b'),
        _ => b'b',
    })
}

fn find_cast(host: &mut dyn Host, s: Oid, t: Oid) -> Result<Option<CastDef>, PgError> {
    Ok(host
        .user_operators()?
        .casts
        .iter()
        .find(|c| c.source == s && c.target == t)
        .cloned())
}

fn run_create_cast(
    host: &mut dyn Host,
    source: &str,
    target: &str,
    func: &CastFunc,
    context: u8,
) -> Result<(), PgError> {
    let s = resolve_type(host, source)?;
    let t = resolve_type(host, target)?;
    let (sn, tn) = (type_name(host, s)?, type_name(host, t)?);
    if typtype(host, s)? == b'p' {
        return Err(err(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("source data type {sn} is a pseudo-type"),
        ));
    }
    if typtype(host, t)? == b'p' {
        return Err(err(
            sqlstate::WRONG_OBJECT_TYPE,
            format!("target data type {tn} is a pseudo-type"),
        ));
    }
    let so = type_owner(host, s)?.unwrap_or(0);
    let to = type_owner(host, t)?.unwrap_or(0);
    if !owns(host, so)? && !owns(host, to)? {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("must be owner of type {sn} or type {tn}"),
        ));
    }
    check_type_usage(host, s)?;
    check_type_usage(host, t)?;
    let (method, func_oid) = match func {
        Some(Some((name, args))) => {
            let f =
                match args {
                    Some(args) => {
                        let mut oids = Vec::new();
                        for a in args {
                            oids.push(resolve_type(host, a)?);
                        }
                        match host
                            .lookup_routines(name.schema.as_deref(), &name.name)?
                            .iter()
                            .find(|f| f.arg_types == oids)
                        {
                            Some(f) => f.clone(),
                            None => return Err(no_function(host, name, &oids)?),
                        }
                    }
                    None => {
                        let c = host.lookup_routines(name.schema.as_deref(), &name.name)?;
                        match c.as_slice() {
                            [f] => f.clone(),
                            [] => {
                                return Err(err(
                                    sqlstate::UNDEFINED_FUNCTION,
                                    format!("could not find a function named \"{}\"", name.shown()),
                                ))
                            }
                            _ => return Err(err(
                                sqlstate::AMBIGUOUS_FUNCTION,
                                format!("function name \"{}\" is not unique", name.shown()),
                            )
                            .with_hint(
                                "Specify the argument list to select the function unambiguously.",
                            )),
                        }
                    }
                };
            let n = f.arg_types.len();
            if !(1..=3).contains(&n) {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "cast function must take one to three arguments",
                ));
            }
            if f.arg_types[0] != s {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "argument of cast function must match or be binary-coercible from source data type",
                ));
            }
            if n > 1 && f.arg_types[1] != types::INT4 {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "second argument of cast function must be type integer",
                ));
            }
            if n > 2 && f.arg_types[2] != types::BOOL {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "third argument of cast function must be type boolean",
                ));
            }
            if f.ret != t && !crate::bind::implicit_ok(f.ret, t) && f.ret != types::TEXT {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "return data type of cast function must match or be binary-coercible to target data type",
                ));
            }
            if f.volatility == b'v' {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "cast function must not be volatile",
                ));
            }
            if f.kind != b'f' {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "cast function must be a normal function",
                ));
            }
            if f.retset {
                return Err(err(
                    INVALID_FUNCTION_DEFINITION,
                    "cast function must not return a set",
                ));
            }
            (b'f', f.oid)
        }
        Some(None) => (b'i', 0),
        None => {
            let (_, superuser) = me(host)?;
            if !superuser {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "must be superuser to create a cast WITHOUT FUNCTION",
                ));
            }
            (b'b', 0)
        }
    };
    if let Some(_c) = find_cast(host, s, t)? {
        return Err(err(
            DUPLICATE_OBJECT,
            format!("cast from type {sn} to type {tn} already exists"),
        ));
    }
    let oid = host.tables()?.new_catalog_oid()?;
    q(
        host,
        "INSERT INTO pg_catalog.pg_cast VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            types::OID,
            types::OID,
            types::OID,
            types::OID,
            types::CHAR,
            types::CHAR,
        ],
        vec![
            Value::Oid(oid),
            Value::Oid(s),
            Value::Oid(t),
            Value::Oid(func_oid),
            Value::Char(context),
            Value::Char(method),
        ],
    )?;
    add_dep(host, PG_CAST, oid, PG_TYPE, s)?;
    add_dep(host, PG_CAST, oid, PG_TYPE, t)?;
    add_dep(host, PG_CAST, oid, PG_PROC, func_oid)?;
    Ok(())
}

fn run_drop_cast(
    host: &mut dyn Host,
    if_exists: bool,
    source: &str,
    target: &str,
) -> Result<(), PgError> {
    let mut oids = Vec::new();
    for t in [source, target] {
        if if_exists {
            if let Some(m) = missing_type_notice(host, t)? {
                host.notice(notice(m));
                return Ok(());
            }
        }
        oids.push(resolve_type(host, t)?);
    }
    let (s, t) = (oids[0], oids[1]);
    let (sn, tn) = (type_name(host, s)?, type_name(host, t)?);
    let Some(c) = find_cast(host, s, t)? else {
        if if_exists {
            host.notice(notice(format!(
                "cast from type {} to type {} does not exist, skipping",
                written_type_name(source),
                written_type_name(target)
            )));
            return Ok(());
        }
        return Err(err(
            sqlstate::UNDEFINED_OBJECT,
            format!("cast from type {sn} to type {tn} does not exist"),
        ));
    };
    let so = type_owner(host, s)?.unwrap_or(0);
    let to = type_owner(host, t)?.unwrap_or(0);
    if !owns(host, so)? && !owns(host, to)? {
        return Err(err(
            sqlstate::INSUFFICIENT_PRIVILEGE,
            format!("must be owner of type {sn} or type {tn}"),
        ));
    }
    delete_cast(host, c.oid)
}

fn delete_cast(host: &mut dyn Host, oid: u32) -> Result<(), PgError> {
    q(
        host,
        "DELETE FROM pg_catalog.pg_cast WHERE oid = $1",
        &[types::OID],
        vec![Value::Oid(oid)],
    )?;
    clear_deps(host, PG_CAST, oid)
}

/// What depends on the function `f` among operators and casts (for DROP
/// FUNCTION): their descriptions and a way to drop them.
pub(crate) fn function_dependents(
    host: &mut dyn Host,
    f: u32,
) -> Result<Vec<(String, Dependent)>, PgError> {
    let cat = host.user_operators()?;
    let mut out = Vec::new();
    for o in cat
        .ops
        .iter()
        .filter(|o| o.code == f || o.rest == f || o.join == f)
    {
        out.push((describe(host, o)?, Dependent::Operator(o.clone())));
    }
    for c in cat.casts.iter().filter(|c| c.func == f) {
        let (s, t) = (type_name(host, c.source)?, type_name(host, c.target)?);
        out.push((format!("cast from {s} to {t}"), Dependent::Cast(c.oid)));
    }
    Ok(out)
}

/// An object DROP FUNCTION ... CASCADE drops with the function.
#[derive(Debug, Clone)]
pub(crate) enum Dependent {
    Operator(OperDef),
    Cast(u32),
}

/// DROP FUNCTION's dependency check for operators and casts using the
/// function: RESTRICT refuses (2BP01), CASCADE drops them with a notice.
pub(crate) fn drop_function_dependents(
    host: &mut dyn Host,
    f: &crate::catalog::FuncDef,
    cascade: bool,
) -> Result<(), PgError> {
    let deps = function_dependents(host, f.oid)?;
    if deps.is_empty() {
        return Ok(());
    }
    let mut args = Vec::new();
    for t in &f.arg_types {
        args.push(type_name(host, *t)?);
    }
    let what = format!(
        "{} {}({})",
        if f.kind == b'p' {
            "procedure"
        } else {
            "function"
        },
        f.name,
        args.join(",")
    );
    if !cascade {
        let detail: Vec<String> = deps
            .iter()
            .map(|(d, _)| format!("{d} depends on {what}"))
            .collect();
        return Err(err(
            tusk_common::SqlState::new("2BP01"),
            format!("cannot drop {what} because other objects depend on it"),
        )
        .with_detail(detail.join("\n"))
        .with_hint("Use DROP ... CASCADE to drop the dependent objects too."));
    }
    if deps.len() == 1 {
        host.notice(notice(format!("drop cascades to {}", deps[0].0)));
    } else {
        let detail: Vec<String> = deps
            .iter()
            .map(|(d, _)| format!("drop cascades to {d}"))
            .collect();
        host.notice(
            notice(format!("drop cascades to {} other objects", deps.len()))
                .with_detail(detail.join("\n")),
        );
    }
    for (_, d) in &deps {
        drop_dependent(host, d)?;
    }
    Ok(())
}

fn drop_dependent(host: &mut dyn Host, d: &Dependent) -> Result<(), PgError> {
    match d {
        Dependent::Operator(o) => delete_operator(host, o),
        Dependent::Cast(c) => delete_cast(host, *c),
    }
}

pub(crate) fn run(stmt: &OpStmt, host: &mut dyn Host) -> Result<(), PgError> {
    match stmt {
        OpStmt::Create { name, defs } => run_create(host, name, defs),
        OpStmt::Alter { name, args, action } => run_alter(host, name, args, action),
        OpStmt::Drop {
            if_exists, items, ..
        } => run_drop(host, *if_exists, items),
        OpStmt::CreateCast {
            source,
            target,
            func,
            context,
        } => run_create_cast(host, source, target, func, *context),
        OpStmt::DropCast {
            if_exists,
            source,
            target,
            ..
        } => run_drop_cast(host, *if_exists, source, target),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(sql: &str) -> Vec<String> {
        lex(sql)
            .unwrap()
            .0
            .into_iter()
            .filter_map(|t| match t {
                Tok::Op(o) => Some(o),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn operators_lex_as_postgres_lexes_them() {
        assert_eq!(ops("a === b"), vec!["==="]);
        assert_eq!(ops("a !=- b"), vec!["!=-"]);
        assert_eq!(ops("a <=- b"), vec!["<=", "-"]);
        assert_eq!(ops("a != b"), vec!["<>"]);
        assert_eq!(ops("a =/**/1"), vec!["="]);
        assert_eq!(ops("a @#@-- c\n"), vec!["@#@"]);
    }

    #[test]
    fn statement_tokens_are_resplit_as_postgres_splits_them() {
        use sqlparser::tokenizer::{Token, Tokenizer};
        let toks = Tokenizer::new(
            &sqlparser::dialect::PostgreSqlDialect {},
            "SELECT 1 <+> 2, 3 === 4, true<>-1, 2<>/**/3, 5 @#@ 6",
        )
        .tokenize_with_location()
        .unwrap();
        let ops: Vec<String> = merge_operator_tokens(toks)
            .into_iter()
            .filter(|t| {
                !matches!(
                    t.token,
                    Token::Whitespace(_) | Token::Word(_) | Token::Number(..) | Token::Comma
                )
            })
            .map(|t| t.token.to_string())
            .collect();
        assert_eq!(ops, vec!["<+>", "===", "<>", "-", "<>", "@#@"]);
    }

    #[test]
    fn statements_parse() {
        let s = parse("CREATE OPERATOR === (leftarg = boolean, rightarg = boolean, procedure = f, commutator = ===, negator = !==, hashes, merges)").unwrap();
        let OpStmt::Create { name, defs } = s else {
            panic!()
        };
        assert_eq!(name.name, "===");
        assert_eq!(
            defs[3].1,
            DefArg::Oper(QName {
                schema: None,
                name: "===".into()
            })
        );
        assert_eq!(defs[5].1, DefArg::None);
        assert!(parse("CREATE OPERATOR => (rightarg = int8, procedure = factorial)").is_err());
        let d =
            parse("DROP OPERATOR IF EXISTS s.+ (NONE, int4), === (int4, int8) CASCADE").unwrap();
        let OpStmt::Drop { items, cascade, .. } = d else {
            panic!()
        };
        assert!(cascade);
        assert_eq!(items[0].1, (None, Some("int4".into())));
        let c = parse("CREATE CAST (int4 AS text) WITH FUNCTION f(int4) AS IMPLICIT").unwrap();
        assert!(matches!(c, OpStmt::CreateCast { context: b'i', .. }));
        assert!(valid_operator_name("@#@"));
        assert!(!valid_operator_name("=+"));
        assert!(valid_operator_name("!=-"));
    }
}
