//! The built-in data types tusk knows: their OIDs, lengths and names.
//!
//! Clients choose their decoders from the OIDs in RowDescription and
//! ParameterDescription, so these numbers are PostgreSQL's own (pg_type.dat)
//! and must never change. A type is an OID plus a type modifier (`typmod`),
//! because `varchar(10)` and `numeric(10,2)` report their limits that way.

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
pub const FLOAT4: Oid = 700;
pub const FLOAT8: Oid = 701;
pub const UNKNOWN: Oid = 705;
pub const INET: Oid = 869;
pub const BPCHAR: Oid = 1042;
pub const VARCHAR: Oid = 1043;
pub const DATE: Oid = 1082;
pub const TIMESTAMP: Oid = 1114;
pub const TIMESTAMPTZ: Oid = 1184;
pub const INTERVAL: Oid = 1186;
pub const NUMERIC: Oid = 1700;
pub const VOID: Oid = 2278;
pub const RECORD: Oid = 2249;
pub const PG_LSN: Oid = 3220;

/// Bytes PostgreSQL allows in a `name` value (NAMEDATALEN - 1).
pub const NAME_MAX_BYTES: usize = 63;

/// `pg_type.typlen`: the fixed size in bytes, -1 for varlena, -2 for C
/// strings. RowDescription carries it.
pub fn typlen(oid: Oid) -> i16 {
    match oid {
        BOOL | CHAR => 1,
        INT2 => 2,
        INT4 | OID | XID | FLOAT4 | DATE | VOID => 4,
        INT8 | FLOAT8 | TIMESTAMP | TIMESTAMPTZ | PG_LSN => 8,
        INTERVAL => 16,
        NAME => 64,
        UNKNOWN => -2,
        _ => -1,
    }
}

/// `pg_type.typname`: the name PostgreSQL gives a bare cast's result column
/// (`SELECT 1::integer` is headed `int4`).
pub fn typname(oid: Oid) -> &'static str {
    match oid {
        BOOL => "bool",
        BYTEA => "bytea",
        CHAR => "char",
        NAME => "name",
        INT8 => "int8",
        INT2 => "int2",
        INT4 => "int4",
        TEXT => "text",
        OID => "oid",
        XID => "xid",
        FLOAT4 => "float4",
        FLOAT8 => "float8",
        UNKNOWN => "unknown",
        INET => "inet",
        BPCHAR => "bpchar",
        VARCHAR => "varchar",
        DATE => "date",
        TIMESTAMP => "timestamp",
        TIMESTAMPTZ => "timestamptz",
        INTERVAL => "interval",
        NUMERIC => "numeric",
        VOID => "void",
        RECORD => "record",
        PG_LSN => "pg_lsn",
        _ => "???",
    }
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
        o if typname(o) == "???" => format!("type with OID {o}"),
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
    Other,
    Unknown,
}

pub fn category(oid: Oid) -> Category {
    match oid {
        BOOL => Category::Bool,
        INT2 | INT4 | INT8 | FLOAT4 | FLOAT8 | NUMERIC | OID => Category::Numeric,
        TEXT | VARCHAR | BPCHAR | NAME | CHAR => Category::String,
        DATE | TIMESTAMP | TIMESTAMPTZ | INTERVAL => Category::DateTime,
        INET => Category::Network,
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
    typname(oid) != "???" && oid != INTERVAL
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
        "bpchar" | "char" | "character" => BPCHAR,
        "varchar" | "character varying" => VARCHAR,
        "date" => DATE,
        "timestamp" | "timestamp without time zone" => TIMESTAMP,
        "timestamptz" | "timestamp with time zone" => TIMESTAMPTZ,
        "interval" => INTERVAL,
        "numeric" | "decimal" | "dec" => NUMERIC,
        "void" => VOID,
        _ => return None,
    };
    let typmod = match (oid, mods) {
        (_, []) => {
            // A bare char / character means char(1), as in PostgreSQL.
            if oid == BPCHAR && name != "bpchar" {
                5
            } else {
                -1
            }
        }
        (BPCHAR | VARCHAR, [n]) if (1..=10_485_760).contains(n) => (*n as i32) + 4,
        (NUMERIC, [p]) if (1..=1000).contains(p) => ((*p as i32) << 16) + 4,
        (NUMERIC, [p, s]) if (1..=1000).contains(p) && (0..=*p).contains(s) => {
            ((*p as i32) << 16 | *s as i32) + 4
        }
        (TIMESTAMP | TIMESTAMPTZ, [p]) if (0..=6).contains(p) => *p as i32,
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
}
