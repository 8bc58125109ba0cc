//! The built-in data types tusk knows: one descriptor table of their OIDs,
//! names, lengths, alignments, by-value flags and storage strategies.
//!
//! Clients choose their decoders from the OIDs in RowDescription and
//! ParameterDescription, so these numbers are PostgreSQL's own (pg_type.dat)
//! and must never change. A type is an OID plus a type modifier (`typmod`),
//! because `varchar(10)` and `numeric(10,2)` report their limits that way.
//!
//! Why one table ([`TYPES`]) instead of a `match` per attribute: the heap
//! tuple codec needs `typlen`, `typalign`, `typbyval` and `typstorage` of
//! the same type together, and PostgreSQL's values for them (checked
//! against a PostgreSQL 15 `pg_type`) must agree with each other; one row
//! per type keeps them side by side and lets a test check their rules.

/// Arrays of these types (re-exported so `types::array` names them).
pub use crate::array;

/// A PostgreSQL object identifier; here, always a type OID.
pub type Oid = u32;

pub const BOOL: Oid = 16;
pub const BYTEA: Oid = 17;
pub const CHAR: Oid = 18;
pub const NAME: Oid = 19;
pub const INT8: Oid = 20;
pub const INT2: Oid = 21;
pub const INT4: Oid = 23;
pub const TEXT: Oid = 25;
pub const OID: Oid = 26;
pub const XID: Oid = 28;
pub const JSON: Oid = 114;
pub const FLOAT4: Oid = 700;
pub const FLOAT8: Oid = 701;
pub const UNKNOWN: Oid = 705;
pub const MONEY: Oid = 790;
pub const INET: Oid = 869;
pub const BPCHAR: Oid = 1042;
pub const VARCHAR: Oid = 1043;
/// `refcursor`: a cursor's (portal's) name, as text (PL/pgSQL cursors).
pub const REFCURSOR: Oid = 1790;
pub const DATE: Oid = 1082;
pub const TIME: Oid = 1083;
pub const TIMESTAMP: Oid = 1114;
pub const TIMESTAMPTZ: Oid = 1184;
pub const INTERVAL: Oid = 1186;
pub const TIMETZ: Oid = 1266;
pub const BIT: Oid = 1560;
pub const VARBIT: Oid = 1562;
pub const NUMERIC: Oid = 1700;
pub const VOID: Oid = 2278;
pub const RECORD: Oid = 2249;
pub const UUID: Oid = 2950;
pub const PG_LSN: Oid = 3220;
pub const XID8: Oid = 5069;
/// The polymorphic pseudo-types a user routine may declare (pg_type.dat's
/// OIDs); a call resolves them to the actual argument types.
pub const ANYELEMENT: Oid = 2283;
pub const ANYARRAY: Oid = 2277;
pub const ANYNONARRAY: Oid = 2776;
pub const ANYENUM: Oid = 3500;
pub const ANYRANGE: Oid = 3831;
pub const ANYMULTIRANGE: Oid = 4537;
pub const ANYCOMPATIBLE: Oid = 5077;
pub const ANYCOMPATIBLEARRAY: Oid = 5078;
pub const ANYCOMPATIBLENONARRAY: Oid = 5079;
pub const ANYCOMPATIBLERANGE: Oid = 5080;
pub const ANYCOMPATIBLEMULTIRANGE: Oid = 4538;
/// The object-identifier alias types (reg.rs in tusk-sql): an oid whose
/// text form is the name of the object it points at.
pub const REGPROC: Oid = 24;
pub const REGPROCEDURE: Oid = 2202;
pub const REGOPER: Oid = 2203;
pub const REGOPERATOR: Oid = 2204;
pub const REGCLASS: Oid = 2205;
pub const REGTYPE: Oid = 2206;
pub const REGNAMESPACE: Oid = 4089;
pub const REGROLE: Oid = 4096;

/// Whether `oid` is one of the reg* alias types.
pub fn is_reg(oid: Oid) -> bool {
    matches!(
        oid,
        REGPROC
            | REGPROCEDURE
            | REGOPER
            | REGOPERATOR
            | REGCLASS
            | REGTYPE
            | REGNAMESPACE
            | REGROLE
    )
}
pub const JSONB: Oid = 3802;
/// `tsvector` and `tsquery` (crate::tsearch): their values are the
/// normalised text.
pub const TSVECTOR: Oid = 3614;
pub const TSQUERY: Oid = 3615;
/// `jsonpath` (crate::jsonpath): its value is the normalised path text.
pub const JSONPATH: Oid = 4072;

/// Bytes PostgreSQL allows in a `name` value (NAMEDATALEN - 1).
pub const NAME_MAX_BYTES: usize = 63;

/// `pg_type.typalign`: the boundary a stored value of the type starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// `c`: no alignment.
    Char,
    /// `s`: 2 bytes.
    Short,
    /// `i`: 4 bytes (also every varlena's header).
    Int,
    /// `d`: 8 bytes.
    Double,
}

impl Align {
    /// The alignment in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            Align::Char => 1,
            Align::Short => 2,
            Align::Int => 4,
            Align::Double => 8,
        }
    }

    /// The one-letter code `pg_type.typalign` shows.
    pub const fn code(self) -> char {
        match self {
            Align::Char => 'c',
            Align::Short => 's',
            Align::Int => 'i',
            Align::Double => 'd',
        }
    }
}

/// `pg_type.typstorage`: whether a varlena value may be compressed and
/// moved out of line (TOAST). Fixed-length types are always `Plain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `p`: never compressed, never out of line.
    Plain,
    /// `e`: out of line, not compressed.
    External,
    /// `x`: compressed, then out of line if still too large.
    Extended,
    /// `m`: compressed, out of line only as a last resort.
    Main,
}

impl Storage {
    /// The one-letter code `pg_type.typstorage` shows.
    pub const fn code(self) -> char {
        match self {
            Storage::Plain => 'p',
            Storage::External => 'e',
            Storage::Extended => 'x',
            Storage::Main => 'm',
        }
    }
}

/// One row of `pg_type`, the columns that storage and the wire need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeInfo {
    /// `oid`: what RowDescription and ParameterDescription carry.
    pub oid: Oid,
    /// `typname`: the name a bare cast's result column is headed with.
    pub name: &'static str,
    /// `typlen`: the fixed size in bytes, -1 for varlena, -2 for C strings.
    pub len: i16,
    /// `typalign`.
    pub align: Align,
    /// `typbyval`: the value fits in a Datum and is passed by value.
    pub by_val: bool,
    /// `typstorage`.
    pub storage: Storage,
}

const fn row(
    oid: Oid,
    name: &'static str,
    len: i16,
    align: Align,
    by_val: bool,
    storage: Storage,
) -> TypeInfo {
    TypeInfo {
        oid,
        name,
        len,
        align,
        by_val,
        storage,
    }
}

/// Every built-in type tusk knows, sorted by OID (so [`type_info`] can
/// binary-search it). The values are PostgreSQL 15's `pg_type` rows.
pub const TYPES: &[TypeInfo] = {
    use Align::{Char as C, Double as D, Int as I, Short as S};
    use Storage::{Extended as X, Main as M, Plain as P};
    &[
        row(BOOL, "bool", 1, C, true, P),
        row(BYTEA, "bytea", -1, I, false, X),
        row(CHAR, "char", 1, C, true, P),
        row(NAME, "name", 64, C, false, P),
        row(INT8, "int8", 8, D, true, P),
        row(INT2, "int2", 2, S, true, P),
        row(INT4, "int4", 4, I, true, P),
        row(REGPROC, "regproc", 4, I, true, P),
        row(TEXT, "text", -1, I, false, X),
        row(OID, "oid", 4, I, true, P),
        row(XID, "xid", 4, I, true, P),
        row(JSON, "json", -1, I, false, X),
        row(199, "_json", -1, I, false, X),
        row(271, "_xid8", -1, D, false, X),
        row(600, "point", 16, D, false, P),
        row(601, "lseg", 32, D, false, P),
        row(602, "path", -1, D, false, X),
        row(603, "box", 32, D, false, P),
        row(604, "polygon", -1, D, false, X),
        row(628, "line", 24, D, false, P),
        row(629, "_line", -1, D, false, X),
        row(FLOAT4, "float4", 4, I, true, P),
        row(FLOAT8, "float8", 8, D, true, P),
        row(UNKNOWN, "unknown", -2, C, false, P),
        row(718, "circle", 24, D, false, P),
        row(719, "_circle", -1, D, false, X),
        row(MONEY, "money", 8, D, true, P),
        row(791, "_money", -1, D, false, X),
        row(INET, "inet", -1, I, false, M),
        row(1000, "_bool", -1, I, false, X),
        row(1001, "_bytea", -1, I, false, X),
        row(1002, "_char", -1, I, false, X),
        row(1003, "_name", -1, I, false, X),
        row(1005, "_int2", -1, I, false, X),
        row(1007, "_int4", -1, I, false, X),
        row(1009, "_text", -1, I, false, X),
        row(1014, "_bpchar", -1, I, false, X),
        row(1015, "_varchar", -1, I, false, X),
        row(1016, "_int8", -1, D, false, X),
        row(1017, "_point", -1, D, false, X),
        row(1018, "_lseg", -1, D, false, X),
        row(1019, "_path", -1, D, false, X),
        row(1020, "_box", -1, D, false, X),
        row(1021, "_float4", -1, I, false, X),
        row(1022, "_float8", -1, D, false, X),
        row(1027, "_polygon", -1, D, false, X),
        row(1028, "_oid", -1, I, false, X),
        row(1041, "_inet", -1, I, false, X),
        row(BPCHAR, "bpchar", -1, I, false, X),
        row(VARCHAR, "varchar", -1, I, false, X),
        row(DATE, "date", 4, I, true, P),
        row(TIME, "time", 8, D, true, P),
        row(TIMESTAMP, "timestamp", 8, D, true, P),
        row(1115, "_timestamp", -1, D, false, X),
        row(1182, "_date", -1, I, false, X),
        row(1183, "_time", -1, D, false, X),
        row(TIMESTAMPTZ, "timestamptz", 8, D, true, P),
        row(1185, "_timestamptz", -1, D, false, X),
        row(INTERVAL, "interval", 16, D, false, P),
        row(1187, "_interval", -1, D, false, X),
        row(1231, "_numeric", -1, I, false, X),
        row(TIMETZ, "timetz", 12, D, false, P),
        row(1270, "_timetz", -1, D, false, X),
        row(BIT, "bit", -1, I, false, X),
        row(1561, "_bit", -1, I, false, X),
        row(VARBIT, "varbit", -1, I, false, X),
        row(1563, "_varbit", -1, I, false, X),
        row(NUMERIC, "numeric", -1, I, false, M),
        row(REFCURSOR, "refcursor", -1, I, false, X),
        row(2201, "_refcursor", -1, I, false, X),
        row(REGPROCEDURE, "regprocedure", 4, I, true, P),
        row(REGOPER, "regoper", 4, I, true, P),
        row(REGOPERATOR, "regoperator", 4, I, true, P),
        row(REGCLASS, "regclass", 4, I, true, P),
        row(REGTYPE, "regtype", 4, I, true, P),
        row(RECORD, "record", -1, D, false, X),
        row(ANYARRAY, "anyarray", -1, D, false, X),
        row(VOID, "void", 4, I, true, P),
        row(2279, "trigger", 4, I, true, P),
        row(ANYELEMENT, "anyelement", 4, I, true, P),
        row(2287, "_record", -1, D, false, X),
        row(ANYNONARRAY, "anynonarray", 4, I, true, P),
        row(UUID, "uuid", 16, C, false, P),
        row(2951, "_uuid", -1, I, false, X),
        row(PG_LSN, "pg_lsn", 8, D, true, P),
        row(3221, "_pg_lsn", -1, D, false, X),
        row(ANYENUM, "anyenum", 4, I, true, P),
        row(TSVECTOR, "tsvector", -1, I, false, X),
        row(TSQUERY, "tsquery", -1, I, false, P),
        row(3643, "_tsvector", -1, I, false, X),
        row(3645, "_tsquery", -1, I, false, X),
        row(JSONB, "jsonb", -1, I, false, X),
        row(3807, "_jsonb", -1, I, false, X),
        row(ANYRANGE, "anyrange", -1, D, false, X),
        row(3904, "int4range", -1, I, false, X),
        row(3905, "_int4range", -1, I, false, X),
        row(3906, "numrange", -1, I, false, X),
        row(3907, "_numrange", -1, I, false, X),
        row(3908, "tsrange", -1, D, false, X),
        row(3909, "_tsrange", -1, D, false, X),
        row(3910, "tstzrange", -1, D, false, X),
        row(3911, "_tstzrange", -1, D, false, X),
        row(3912, "daterange", -1, I, false, X),
        row(3913, "_daterange", -1, I, false, X),
        row(3926, "int8range", -1, D, false, X),
        row(3927, "_int8range", -1, D, false, X),
        row(JSONPATH, "jsonpath", -1, I, false, X),
        row(4073, "_jsonpath", -1, I, false, X),
        row(REGNAMESPACE, "regnamespace", 4, I, true, P),
        row(REGROLE, "regrole", 4, I, true, P),
        row(4451, "int4multirange", -1, I, false, X),
        row(4532, "nummultirange", -1, I, false, X),
        row(4533, "tsmultirange", -1, D, false, X),
        row(4534, "tstzmultirange", -1, D, false, X),
        row(4535, "datemultirange", -1, I, false, X),
        row(4536, "int8multirange", -1, D, false, X),
        row(ANYMULTIRANGE, "anymultirange", -1, D, false, X),
        row(
            ANYCOMPATIBLEMULTIRANGE,
            "anycompatiblemultirange",
            -1,
            D,
            false,
            X,
        ),
        row(XID8, "xid8", 8, D, true, P),
        row(ANYCOMPATIBLE, "anycompatible", 4, I, true, P),
        row(ANYCOMPATIBLEARRAY, "anycompatiblearray", -1, D, false, X),
        row(
            ANYCOMPATIBLENONARRAY,
            "anycompatiblenonarray",
            4,
            I,
            true,
            P,
        ),
        row(ANYCOMPATIBLERANGE, "anycompatiblerange", -1, D, false, X),
        row(6150, "_int4multirange", -1, I, false, X),
        row(6151, "_nummultirange", -1, I, false, X),
        row(6152, "_tsmultirange", -1, D, false, X),
        row(6153, "_tstzmultirange", -1, D, false, X),
        row(6155, "_datemultirange", -1, I, false, X),
        row(6157, "_int8multirange", -1, D, false, X),
    ]
};

/// The descriptor of a built-in type, or `None` for an OID tusk does not
/// know.
pub fn type_info(oid: Oid) -> Option<&'static TypeInfo> {
    TYPES
        .binary_search_by_key(&oid, |t| t.oid)
        .ok()
        .map(|i| &TYPES[i])
        .or_else(|| crate::usertype::type_info(oid))
        .or_else(|| crate::range::type_info(oid))
        .or_else(|| crate::composite::type_info(oid))
}

/// `pg_type.typlen`: the fixed size in bytes, -1 for varlena, -2 for C
/// strings. RowDescription carries it. An unknown OID is treated as
/// varlena.
pub fn typlen(oid: Oid) -> i16 {
    type_info(oid).map_or(-1, |t| t.len)
}

/// `pg_type.typname`: the name PostgreSQL gives a bare cast's result column
/// (`SELECT 1::integer` is headed `int4`); `???` for an unknown OID.
pub fn typname(oid: Oid) -> &'static str {
    type_info(oid).map_or("???", |t| t.name)
}

/// The SQL-standard spelling `format_type` uses, which is what
/// PostgreSQL's error messages show (`integer`, not `int4`).
pub fn sql_name(oid: Oid) -> String {
    match oid {
        BOOL => "boolean".into(),
        CHAR => "\"char\"".into(),
        INT8 => "bigint".into(),
        INT2 => "smallint".into(),
        INT4 => "integer".into(),
        FLOAT4 => "real".into(),
        FLOAT8 => "double precision".into(),
        BPCHAR => "character".into(),
        VARCHAR => "character varying".into(),
        TIMESTAMP => "timestamp without time zone".into(),
        TIMESTAMPTZ => "timestamp with time zone".into(),
        TIME => "time without time zone".into(),
        TIMETZ => "time with time zone".into(),
        VARBIT => "bit varying".into(),
        ANYARRAY => "anyarray".into(),
        o if crate::array::is_array(o) => crate::array::sql_name(o).unwrap_or_default(),
        o if type_info(o).is_none() => format!("type with OID {o}"),
        o => typname(o).into(),
    }
}

/// A type as the binder tracks it: OID and modifier (-1 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ty {
    pub oid: Oid,
    pub typmod: i32,
}

impl Ty {
    pub const fn new(oid: Oid) -> Ty {
        Ty { oid, typmod: -1 }
    }
    pub const fn with_mod(oid: Oid, typmod: i32) -> Ty {
        Ty { oid, typmod }
    }
}

/// Type categories, as PostgreSQL's `typcategory`: operator resolution
/// works within a category and prefers its "preferred" type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Bool,
    Numeric,
    String,
    DateTime,
    Network,
    Array,
    Other,
    Unknown,
}

pub fn category(oid: Oid) -> Category {
    match oid {
        BOOL => Category::Bool,
        INT2 | INT4 | INT8 | FLOAT4 | FLOAT8 | NUMERIC | OID => Category::Numeric,
        TEXT | VARCHAR | BPCHAR | NAME | CHAR => Category::String,
        DATE | TIMESTAMP | TIMESTAMPTZ | INTERVAL | TIME | TIMETZ => Category::DateTime,
        INET => Category::Network,
        o if crate::array::is_array(o) => Category::Array,
        UNKNOWN => Category::Unknown,
        _ => Category::Other,
    }
}

/// Rank within the numeric category for implicit widening: a binary
/// operator on two numeric types runs in the higher-ranked one, as
/// PostgreSQL's implicit casts int2 -> int4 -> int8 -> numeric -> float4 ->
/// float8 make it.
pub fn numeric_rank(oid: Oid) -> Option<u8> {
    match oid {
        INT2 => Some(1),
        INT4 => Some(2),
        INT8 => Some(3),
        NUMERIC => Some(4),
        FLOAT4 => Some(5),
        FLOAT8 => Some(6),
        _ => None,
    }
}

/// True for types tusk can store in a [`crate::Value`] and convert.
pub fn is_supported(oid: Oid) -> bool {
    type_info(oid).is_some()
}

/// Resolve a type name as written in SQL (already lower-cased unless it
/// was quoted, schema prefix removed) with its modifiers to a [`Ty`].
pub fn lookup_type_name(name: &str, mods: &[i64]) -> Option<Ty> {
    let oid = match name {
        "bool" | "boolean" => BOOL,
        "bytea" => BYTEA,
        "char" if mods.is_empty() => BPCHAR,
        "\"char\"" => CHAR,
        "name" => NAME,
        "int8" | "bigint" => INT8,
        "int2" | "smallint" => INT2,
        "int4" | "int" | "integer" => INT4,
        "text" => TEXT,
        "oid" => OID,
        "xid" => XID,
        "xid8" => XID8,
        "float4" | "real" => FLOAT4,
        "float8" | "double precision" => FLOAT8,
        "float" => {
            // float(p): p <= 24 is real, else double precision.
            return match mods {
                [] => Some(Ty::new(FLOAT8)),
                [p] if (1..=24).contains(p) => Some(Ty::new(FLOAT4)),
                [p] if (25..=53).contains(p) => Some(Ty::new(FLOAT8)),
                _ => None,
            };
        }
        "unknown" => UNKNOWN,
        "inet" => INET,
        "uuid" => UUID,
        "pg_lsn" => PG_LSN,
        "refcursor" => REFCURSOR,
        "money" => MONEY,
        "point" => crate::geo::POINT,
        "lseg" => crate::geo::LSEG,
        "path" => crate::geo::PATH,
        "box" => crate::geo::BOX,
        "polygon" => crate::geo::POLYGON,
        "line" => crate::geo::LINE,
        "circle" => crate::geo::CIRCLE,
        "bit" => BIT,
        "varbit" | "bit varying" => VARBIT,
        "bpchar" | "char" | "character" => BPCHAR,
        "varchar" | "character varying" => VARCHAR,
        "date" => DATE,
        "timestamp" | "timestamp without time zone" => TIMESTAMP,
        "timestamptz" | "timestamp with time zone" => TIMESTAMPTZ,
        "interval" => INTERVAL,
        "time" | "time without time zone" => TIME,
        "timetz" | "time with time zone" => TIMETZ,
        "numeric" | "decimal" | "dec" => NUMERIC,
        "void" => VOID,
        "regproc" => REGPROC,
        "regprocedure" => REGPROCEDURE,
        "regoper" => REGOPER,
        "regoperator" => REGOPERATOR,
        "regclass" => REGCLASS,
        "regtype" => REGTYPE,
        "regnamespace" => REGNAMESPACE,
        "regrole" => REGROLE,
        "json" => JSON,
        "jsonb" => JSONB,
        n if crate::range::by_name(n).is_some() => return crate::range::by_name(n).map(Ty::new),
        "jsonpath" => JSONPATH,
        "tsvector" => TSVECTOR,
        "tsquery" => TSQUERY,
        // `_int4` spells int4[] (pg_type's array type names).
        n if n.starts_with('_') => {
            let elem = lookup_type_name(&n[1..], &[])?;
            let arr = crate::array::array_type(elem.oid)?;
            let m = lookup_type_name(&n[1..], mods)?;
            return Some(Ty::with_mod(arr, m.typmod));
        }
        _ => return None,
    };
    let typmod = match (oid, mods) {
        (_, []) => {
            // A bare char / character means char(1), as in PostgreSQL.
            if oid == BPCHAR && name != "bpchar" {
                5
            } else if oid == BIT && name == "bit" {
                // A bare bit means bit(1), as a bare char means char(1).
                1
            } else {
                -1
            }
        }
        (BPCHAR | VARCHAR, [n]) if (1..=10_485_760).contains(n) => (*n as i32) + 4,
        (NUMERIC, [p]) if (1..=1000).contains(p) => ((*p as i32) << 16) + 4,
        (NUMERIC, [p, s]) if (1..=1000).contains(p) && (0..=*p).contains(s) => {
            ((*p as i32) << 16 | *s as i32) + 4
        }
        (BIT | VARBIT, [n]) if (1..=83_886_080).contains(n) => *n as i32,
        (TIMESTAMP | TIMESTAMPTZ | TIME | TIMETZ, [p]) if (0..=6).contains(p) => *p as i32,
        // interval(p): PostgreSQL's INTERVAL_FULL_RANGE with precision p.
        (INTERVAL, [p]) if (0..=6).contains(p) => (0x7FFF << 16) | *p as i32,
        _ => return None,
    };
    Some(Ty::with_mod(oid, typmod))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_mods() {
        assert_eq!(lookup_type_name("integer", &[]), Some(Ty::new(INT4)));
        assert_eq!(
            lookup_type_name("varchar", &[3]),
            Some(Ty::with_mod(VARCHAR, 7))
        );
        assert_eq!(
            lookup_type_name("numeric", &[10, 2]),
            Some(Ty::with_mod(NUMERIC, (10 << 16 | 2) + 4))
        );
        assert_eq!(
            lookup_type_name("character", &[]),
            Some(Ty::with_mod(BPCHAR, 5))
        );
        assert_eq!(lookup_type_name("float", &[10]), Some(Ty::new(FLOAT4)));
        assert_eq!(lookup_type_name("numeric", &[2, 5]), None);
        assert_eq!(lookup_type_name("nosuch", &[]), None);
        assert_eq!(typlen(NAME), 64);
        assert_eq!(sql_name(INT4), "integer");
    }

    /// The rules PostgreSQL's own catalog obeys, checked on every row, so
    /// that a typo in one column of the table cannot pass.
    #[test]
    fn descriptor_table_is_consistent() {
        for w in TYPES.windows(2) {
            assert!(w[0].oid < w[1].oid, "TYPES not sorted at {}", w[1].name);
        }
        for t in TYPES {
            assert_eq!(type_info(t.oid), Some(t));
            if t.by_val {
                assert!(
                    matches!(t.len, 1 | 2 | 4 | 8),
                    "{} by value with length {}",
                    t.name,
                    t.len
                );
                assert!(t.align.bytes() <= t.len as usize, "{}", t.name);
            }
            if t.len > 0 {
                assert_eq!(t.storage, Storage::Plain, "fixed-length {}", t.name);
            }
            if t.len == -1 {
                assert!(t.align.bytes() >= 4, "varlena {} below int align", t.name);
            }
        }
        assert_eq!(type_info(0), None);
        assert_eq!(typlen(0), -1);
        assert_eq!(typname(0), "???");
    }

    /// Spot checks against PostgreSQL 15 (`SELECT typlen, typbyval,
    /// typalign, typstorage FROM pg_type WHERE oid = ...`).
    #[test]
    fn descriptors_match_postgres_15() {
        let code = |o: Oid| {
            let t = type_info(o).unwrap();
            (t.len, t.by_val, t.align.code(), t.storage.code())
        };
        assert_eq!(code(INT2), (2, true, 's', 'p'));
        assert_eq!(code(INT8), (8, true, 'd', 'p'));
        assert_eq!(code(NAME), (64, false, 'c', 'p'));
        assert_eq!(code(TEXT), (-1, false, 'i', 'x'));
        assert_eq!(code(NUMERIC), (-1, false, 'i', 'm'));
        assert_eq!(code(INTERVAL), (16, false, 'd', 'p'));
        assert_eq!(code(UNKNOWN), (-2, false, 'c', 'p'));
        assert_eq!(code(RECORD), (-1, false, 'd', 'x'));
        assert_eq!(typname(TIMESTAMPTZ), "timestamptz");
    }
}
