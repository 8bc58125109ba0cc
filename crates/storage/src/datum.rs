//! The tuple codec: SQL values (`tusk_types::Value`) to and from heap-tuple datums in PostgreSQL 15's on-disk formats.
//!
//! Why one codec in storage: the catalog (bootstrap rows, pg_class and
//! pg_attribute reads and writes) and user tables store the same types, and
//! a page written by tusk should read the same in PostgreSQL's own tools
//! (pageinspect, a future pg_upgrade-like check). So every type is laid out
//! as PostgreSQL lays it out: fixed-width by-value types little-endian in
//! their typlen bytes, `name` as 64 NUL-padded bytes, text-like types and
//! bytea as varlenas (the tuple former packs short ones into 1-byte
//! headers), numeric in PostgreSQL's packed base-10000 form (the short
//! header when weight and scale fit, as `make_result` does).
//!
//! Attribute layout (length, alignment, by-value) comes from the type's
//! pg_type row ([`attr_for`]); types tusk cannot hold as values yet (arrays,
//! pg_node_tree, aclitem) are still laid out correctly so that catalog rows
//! with those columns NULL are byte-exact. Compressed inline and
//! out-of-line (TOAST) values are detoasted on read ([`deform_row_detoast`],
//! the caller fetching out-of-line chunks), and [`form_row_toasted`] runs
//! the toaster (toast.rs) on a row too wide for a page.
//!
//! Pure functions; any process may call them.

use tusk_common::{sqlstate, PgError};
use tusk_types::numeric::Numeric;
use tusk_types::types::{self, Oid};
use tusk_types::value::Value;

use crate::heaptuple::{self, Align, Attr, Datum};
use crate::toast::{self, ExternalPointer, ToastValue};

/// `regproc` (catalog columns naming a function).
pub const REGPROC: Oid = 24;
/// `int2vector` (pg_index.indkey).
pub const INT2VECTOR: Oid = 22;
/// `oidvector` (pg_proc.proargtypes).
pub const OIDVECTOR: Oid = 30;
/// `pg_node_tree` (stored expressions).
pub const PG_NODE_TREE: Oid = 194;
/// `anyarray` (pg_attribute.attmissingval), aligned 'd'.
pub const ANYARRAY: Oid = 2277;

/// `int2[]` (pg_constraint.conkey).
pub const INT2_ARRAY: Oid = 1005;

/// `aclitem[]` (relacl, nspacl, proacl, datacl, attacl).
pub const ACLITEM_ARRAY: Oid = 1034;
/// `aclitem`: 12 bytes (grantee oid, grantor oid, a uint32 AclMode whose
/// low 16 bits are privileges and high 16 bits their grant options, as in
/// PostgreSQL 15).
pub const ACLITEM: Oid = 1033;

/// PostgreSQL's privilege letters by bit (ACL_ALL_RIGHTS_STR).
pub const ACL_LETTERS: &[u8; 14] = b"arwdDxtXUCTcsA";

/// An `aclitem[]` in its stored text form (`{10=arwdDxt/10,=r/10}`:
/// grantee and grantor as OIDs, an empty grantee for PUBLIC; tusk-sql's
/// acl.rs turns it into names) as PostgreSQL's on-disk array.
fn acl_to_disk(s: &str) -> Option<Vec<u8>> {
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    for it in inner.split(',').filter(|x| !x.is_empty()) {
        let (grantee, rest) = it.split_once('=')?;
        let (letters, grantor) = rest.split_once('/')?;
        let grantee: u32 = if grantee.is_empty() {
            0
        } else {
            grantee.parse().ok()?
        };
        let grantor: u32 = grantor.parse().ok()?;
        let mut mode = 0u32;
        let mut last = None;
        for ch in letters.bytes() {
            if ch == b'*' {
                mode |= 1u32 << (last? + 16);
                continue;
            }
            let bit = ACL_LETTERS.iter().position(|&l| l == ch)?;
            mode |= 1u32 << bit;
            last = Some(bit);
        }
        items.push((grantee, grantor, mode));
    }
    let mut out = Vec::new();
    let ndim: i32 = if items.is_empty() { 0 } else { 1 };
    out.extend_from_slice(&ndim.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&ACLITEM.to_le_bytes());
    if ndim == 1 {
        out.extend_from_slice(&(items.len() as i32).to_le_bytes());
        out.extend_from_slice(&1i32.to_le_bytes());
    }
    for (g, r, m) in items {
        out.extend_from_slice(&g.to_le_bytes());
        out.extend_from_slice(&r.to_le_bytes());
        out.extend_from_slice(&m.to_le_bytes());
    }
    Some(out)
}

/// The stored text form of an on-disk `aclitem[]` ([`acl_to_disk`]).
fn acl_from_disk(b: &[u8]) -> Result<String, PgError> {
    let bad = || PgError::error(sqlstate::DATA_CORRUPTED, "invalid aclitem[] datum");
    let u = |at: usize| -> Result<u32, PgError> {
        Ok(u32::from_le_bytes(
            b.get(at..at + 4)
                .ok_or_else(bad)?
                .try_into()
                .map_err(|_| bad())?,
        ))
    };
    let ndim = u(0)?;
    let n = if ndim == 0 { 0 } else { u(12)? as usize };
    let start = if ndim == 0 { 12 } else { 20 };
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + i * 12;
        let (g, r, m) = (u(at)?, u(at + 4)?, u(at + 8)?);
        let mut s = if g == 0 { String::new() } else { g.to_string() };
        s.push('=');
        for (bit, &l) in ACL_LETTERS.iter().enumerate() {
            if m & (1 << bit) != 0 {
                s.push(l as char);
                if m & (1 << (bit + 16)) != 0 {
                    s.push('*');
                }
            }
        }
        s.push('/');
        s.push_str(&r.to_string());
        parts.push(s);
    }
    Ok(format!("{{{}}}", parts.join(",")))
}

/// A one-dimensional array of int2 or oid without NULLs in PostgreSQL's
/// on-disk form (the varlena payload: ndim, dataoffset 0, element type,
/// length, lower bound, then the elements), from its text form: "1 2"
/// for int2vector/oidvector (lower bound 0), "{1,2}" for int2[] (lower
/// bound 1). Catalog columns only (pg_index.indkey, pg_constraint.conkey):
/// tusk has no array values, so the SQL layer sees the text form.
fn vector_to_disk(s: &str, oid: Oid) -> Option<Vec<u8>> {
    let (elem, lbound, inner) = match oid {
        INT2VECTOR => (types::INT2, 0i32, s),
        OIDVECTOR => (types::OID, 0, s),
        _ => (
            types::INT2,
            1,
            s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))?,
        ),
    };
    let items: Vec<&str> = inner.split([' ', ',']).filter(|x| !x.is_empty()).collect();
    let mut out = Vec::new();
    out.extend_from_slice(&1i32.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    out.extend_from_slice(&(items.len() as i32).to_le_bytes());
    out.extend_from_slice(&lbound.to_le_bytes());
    for i in items {
        if elem == types::INT2 {
            out.extend_from_slice(&i.parse::<i16>().ok()?.to_le_bytes());
        } else {
            out.extend_from_slice(&i.parse::<u32>().ok()?.to_le_bytes());
        }
    }
    Some(out)
}

/// The text form of an array written by `vector_to_disk` (or by
/// PostgreSQL, same layout).
fn vector_from_disk(b: &[u8], oid: Oid) -> Result<String, PgError> {
    let bad = || {
        PgError::error(
            sqlstate::DATA_CORRUPTED,
            format!("invalid {} datum", types::sql_name(oid)),
        )
    };
    let g = |at: usize| -> Result<i32, PgError> {
        Ok(i32::from_le_bytes(
            b.get(at..at + 4).ok_or_else(bad)?.try_into().unwrap(),
        ))
    };
    let (ndim, elem) = (g(0)?, g(8)? as u32);
    let n = if ndim == 0 { 0 } else { g(12)?.max(0) as usize };
    let start = if ndim == 0 { 12 } else { 20 };
    let width = if elem == types::INT2 { 2 } else { 4 };
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let at = start + i * width;
        let d = b.get(at..at + width).ok_or_else(bad)?;
        parts.push(if width == 2 {
            i16::from_le_bytes(d.try_into().unwrap()).to_string()
        } else {
            u32::from_le_bytes(d.try_into().unwrap()).to_string()
        });
    }
    Ok(if oid == INT2_ARRAY {
        format!("{{{}}}", parts.join(","))
    } else {
        parts.join(" ")
    })
}

/// PostgreSQL's ArrayType payload (after the varlena header) of `a`:
/// ndim, dataoffset (0 without NULLs), element type, dims, lower bounds,
/// the null bitmap when there are NULLs, padding to MAXALIGN, then the
/// non-null elements each aligned by the element type's typalign (as in a
/// heap tuple, offsets counted from the varlena header) and varlena
/// elements with 4-byte headers, as array_in and construct_md_array store
/// them.
pub fn array_to_disk(a: &tusk_types::array::Array) -> Result<Vec<u8>, PgError> {
    let attr = attr_for(a.elem)
        .filter(|_| storable(a.elem))
        .ok_or_else(|| {
            PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!(
                    "storing type {}[] is not supported yet",
                    types::sql_name(a.elem)
                ),
            )
        })?;
    // `buf` starts with a placeholder for the 4-byte varlena header so that
    // alignment is counted as PostgreSQL counts it.
    let mut buf = vec![0u8; 4];
    let ndim = a.dims.len();
    buf.extend_from_slice(&(ndim as i32).to_le_bytes());
    let nulls = a.has_nulls();
    buf.extend_from_slice(&0i32.to_le_bytes());
    buf.extend_from_slice(&a.elem.to_le_bytes());
    for &(n, _) in &a.dims {
        buf.extend_from_slice(&n.to_le_bytes());
    }
    for &(_, lb) in &a.dims {
        buf.extend_from_slice(&lb.to_le_bytes());
    }
    if ndim > 0 {
        if nulls {
            let mut bits = vec![0u8; a.items.len().div_ceil(8)];
            for (i, v) in a.items.iter().enumerate() {
                if !v.is_null() {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            buf.extend_from_slice(&bits);
        }
        while !buf.len().is_multiple_of(8) {
            buf.push(0);
        }
        if nulls {
            let off = buf.len() as i32;
            buf[8..12].copy_from_slice(&off.to_le_bytes());
        }
        let align = match attr.align {
            Align::Char => 1,
            Align::Short => 2,
            Align::Int => 4,
            Align::Double => 8,
        };
        for v in &a.items {
            let Some(d) = to_datum(v, a.elem)? else {
                continue;
            };
            while !buf.len().is_multiple_of(align) {
                buf.push(0);
            }
            match d {
                Owned::ByVal(n) => buf.extend_from_slice(&n.to_le_bytes()[..attr.len as usize]),
                Owned::Ref(b) if attr.len > 0 => buf.extend_from_slice(&b),
                Owned::Ref(b) => {
                    buf.extend_from_slice(&(((b.len() + 4) as u32) << 2).to_le_bytes());
                    buf.extend_from_slice(&b);
                }
                Owned::Varlena(b) => buf.extend_from_slice(&b),
            }
        }
    }
    buf.drain(..4);
    Ok(buf)
}

/// An ArrayType payload (after its varlena header) back as an array.
pub fn array_from_disk(p: &[u8], oid: Oid) -> Result<tusk_types::array::Array, PgError> {
    let bad = || {
        PgError::error(
            sqlstate::DATA_CORRUPTED,
            format!("invalid {} datum", types::sql_name(oid)),
        )
    };
    let mut buf = vec![0u8; 4];
    buf.extend_from_slice(p);
    let g = |at: usize| -> Result<i32, PgError> {
        Ok(i32::from_le_bytes(
            buf.get(at..at + 4).ok_or_else(bad)?.try_into().unwrap(),
        ))
    };
    let ndim = g(4)?;
    let dataoffset = g(8)?;
    let elem = g(12)? as u32;
    if !(0..=tusk_types::array::MAXDIM as i32).contains(&ndim) {
        return Err(bad());
    }
    let ndim = ndim as usize;
    let mut dims = Vec::with_capacity(ndim);
    let mut total: usize = if ndim == 0 { 0 } else { 1 };
    for d in 0..ndim {
        let n = g(16 + 4 * d)?;
        let lb = g(16 + 4 * (ndim + d))?;
        if n < 0 {
            return Err(bad());
        }
        total = total.checked_mul(n as usize).ok_or_else(bad)?;
        dims.push((n, lb));
    }
    if total > p.len() * 8 + 8 {
        return Err(bad());
    }
    let attr = attr_for(elem).ok_or_else(bad)?;
    let bitmap_at = 16 + 8 * ndim;
    let bitmap = if dataoffset != 0 {
        Some(
            buf.get(bitmap_at..bitmap_at + total.div_ceil(8))
                .ok_or_else(bad)?,
        )
    } else {
        None
    };
    let mut off = if dataoffset != 0 {
        dataoffset as usize
    } else {
        bitmap_at.div_ceil(8) * 8
    };
    let align = match attr.align {
        Align::Char => 1,
        Align::Short => 2,
        Align::Int => 4,
        Align::Double => 8,
    };
    let mut items = Vec::with_capacity(total);
    for i in 0..total {
        if bitmap.is_some_and(|b| b[i / 8] & (1 << (i % 8)) == 0) {
            items.push(Value::Null);
            continue;
        }
        // A pad byte is zero; a short varlena header never is (as
        // PostgreSQL's att_align_pointer).
        if attr.len != -1 || buf.get(off) == Some(&0) {
            off = off.div_ceil(align) * align;
        }
        let v = if attr.byval {
            let l = attr.len as usize;
            let b = buf.get(off..off + l).ok_or_else(bad)?;
            let mut w = [0u8; 8];
            w[..l].copy_from_slice(b);
            off += l;
            from_datum(Some(Datum::ByVal(u64::from_le_bytes(w))), elem)?
        } else if attr.len > 0 {
            let l = attr.len as usize;
            let b = buf.get(off..off + l).ok_or_else(bad)?;
            off += l;
            from_datum(Some(Datum::Ref(b)), elem)?
        } else {
            let h = *buf.get(off).ok_or_else(bad)?;
            let (start, len) = if h & 1 == 1 {
                (off + 1, (h >> 1) as usize)
            } else {
                let l =
                    (u32::from_le_bytes(buf.get(off..off + 4).ok_or_else(bad)?.try_into().unwrap())
                        >> 2) as usize;
                (off + 4, l)
            };
            if len < start - off {
                return Err(bad());
            }
            let b = buf.get(start..off + len).ok_or_else(bad)?;
            off += len;
            from_datum(Some(Datum::Ref(b)), elem)?
        };
        items.push(v);
    }
    if ndim > 0 && total == 0 {
        dims.clear();
    }
    Ok(tusk_types::array::Array { elem, dims, items })
}

/// Tuple layout of a column of type `oid` (PostgreSQL's typlen, typalign,
/// typbyval); `None` for a type with no pg_type row here.
pub fn attr_for(oid: Oid) -> Option<Attr> {
    if let Some(t) = types::type_info(oid) {
        let align = match t.align {
            types::Align::Char => Align::Char,
            types::Align::Short => Align::Short,
            types::Align::Int => Align::Int,
            types::Align::Double => Align::Double,
        };
        return Some(Attr {
            len: t.len,
            align,
            byval: t.by_val,
        });
    }
    match oid {
        REGPROC => Some(Attr::fixed(4, Align::Int, true)),
        INT2VECTOR | OIDVECTOR | PG_NODE_TREE => Some(Attr::varlena(Align::Int)),
        ANYARRAY => Some(Attr::varlena(Align::Double)),
        // Arrays of int-aligned elements (aclitem[], text[], oid[], int2[],
        // char[]): varlenas aligned 'i'.
        1034 | 1009 | 1028 | 1005 | 1002 | 1021 => Some(Attr::varlena(Align::Int)),
        _ => None,
    }
}

/// The layout of every column, or 0A000 naming a type tusk cannot store.
///
/// Remembered per process for the last few column lists: every row formed
/// or read asks for its table's layout, and looking each type up again
/// (a binary search, then the user-type registries) and allocating the list
/// was ~4 % of a bulk INSERT. A type's layout never changes while its OID
/// names it, so an entry cannot go stale.
pub fn attrs_for(types_: &[Oid]) -> Result<std::rc::Rc<[Attr]>, PgError> {
    use std::cell::RefCell;
    use std::rc::Rc;
    const KEEP: usize = 8;
    /// The next slot to replace, and (column types, layout) pairs.
    type Recent = (usize, Vec<(Box<[Oid]>, Rc<[Attr]>)>);
    thread_local! {
        static RECENT: RefCell<Recent> = const { RefCell::new((0, Vec::new())) };
    }
    if let Some(a) = RECENT.with(|r| {
        r.borrow()
            .1
            .iter()
            .find(|(t, _)| **t == *types_)
            .map(|(_, a)| a.clone())
    }) {
        return Ok(a);
    }
    let attrs: Rc<[Attr]> = types_
        .iter()
        .map(|&t| {
            attr_for(t).ok_or_else(|| {
                PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!("storing type {} is not supported yet", types::sql_name(t)),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    RECENT.with(|r| {
        let (next, list) = &mut *r.borrow_mut();
        let entry = (Box::<[Oid]>::from(types_), attrs.clone());
        if list.len() < KEEP {
            list.push(entry);
        } else {
            list[*next] = entry;
            *next = (*next + 1) % KEEP;
        }
    });
    Ok(attrs)
}

/// Can a user table have a column of type `oid`: does the codec convert
/// its values both ways? (`inet` not yet.)
pub fn storable(oid: Oid) -> bool {
    matches!(
        oid,
        types::BOOL
            | types::CHAR
            | types::INT2
            | types::INT4
            | types::INT8
            | types::OID
            | types::FLOAT4
            | types::FLOAT8
            | types::DATE
            | types::TIMESTAMP
            | types::TIMESTAMPTZ
            | types::PG_LSN
            | types::XID8
            | types::NAME
            | types::TEXT
            | types::VARCHAR
            | types::REFCURSOR
            | types::BPCHAR
            | types::BYTEA
            | types::NUMERIC
            | types::INTERVAL
            | types::TIME
            | types::TIMETZ
            | types::JSON
            | types::JSONB
            | types::JSONPATH
            | types::TSVECTOR
            | types::TSQUERY
            | types::UUID
            | types::MONEY
            | types::BIT
            | types::VARBIT
    ) || tusk_types::geo::is_geo(oid)
        || tusk_types::array::elem_type(oid).is_some_and(|e| e != types::INET && storable(e))
        || tusk_types::usertype::is_enum(oid)
        || tusk_types::range::is_range(oid)
        || tusk_types::range::is_multirange(oid)
        || tusk_types::composite::is_composite(oid)
}

/// A datum owning its bytes, to be lent to [`heaptuple::form_tuple`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owned {
    ByVal(u64),
    Ref(Vec<u8>),
    /// A varlena with its header: compressed inline or a TOAST pointer.
    Varlena(Vec<u8>),
}

impl Owned {
    pub fn as_datum(&self) -> Datum<'_> {
        match self {
            Owned::ByVal(v) => Datum::ByVal(*v),
            Owned::Ref(b) => Datum::Ref(b),
            Owned::Varlena(b) => Datum::Varlena(b),
        }
    }
}

fn mismatch(v: &Value, oid: Oid) -> PgError {
    PgError::error(
        sqlstate::INTERNAL_ERROR,
        format!(
            "value {v:?} cannot be stored as type {}",
            types::sql_name(oid)
        ),
    )
}

/// PostgreSQL's on-disk numeric (the varlena payload, without header).
pub fn numeric_to_disk(n: &Numeric) -> Vec<u8> {
    let b = n.to_binary();
    let rd = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
    let ndigits = rd(0) as usize;
    let weight = rd(2) as i16;
    let sign = rd(4);
    let dscale = rd(6);
    let mut out = Vec::with_capacity(4 + 2 * ndigits);
    if sign >= 0xC000 {
        // NaN, +Inf, -Inf: the special header alone.
        out.extend_from_slice(&sign.to_le_bytes());
        return out;
    }
    let neg = sign == 0x4000;
    if (-64..=63).contains(&weight) && dscale <= 0x3F {
        // NUMERIC_SHORT: 1 sign bit, 6 dscale bits, 7 weight bits.
        let mut h: u16 = 0x8000 | (dscale << 7) | ((weight as u16) & 0x7F);
        if neg {
            h |= 0x2000;
        }
        out.extend_from_slice(&h.to_le_bytes());
    } else {
        let sd = if neg { 0x4000 } else { 0 } | (dscale & 0x3FFF);
        out.extend_from_slice(&sd.to_le_bytes());
        out.extend_from_slice(&weight.to_le_bytes());
    }
    for i in 0..ndigits {
        out.extend_from_slice(&rd(8 + 2 * i).to_le_bytes());
    }
    out
}

/// Reads PostgreSQL's on-disk numeric (varlena payload).
pub fn numeric_from_disk(p: &[u8]) -> Result<Numeric, PgError> {
    let bad = || {
        PgError::error(
            sqlstate::DATA_CORRUPTED,
            "invalid numeric value in tuple".to_string(),
        )
    };
    if p.len() < 2 {
        return Err(bad());
    }
    let h = u16::from_le_bytes([p[0], p[1]]);
    let (sign, dscale, weight, digits) = match h & 0xC000 {
        0xC000 => {
            let mut b = vec![0u8; 8];
            b[4..6].copy_from_slice(&(h & 0xF000).to_be_bytes());
            return Numeric::from_binary(&b).ok_or_else(bad);
        }
        0x8000 => {
            let neg = h & 0x2000 != 0;
            let dscale = (h >> 7) & 0x3F;
            let mut w = (h & 0x3F) as i16;
            if h & 0x40 != 0 {
                w -= 64;
            }
            (if neg { 0x4000u16 } else { 0 }, dscale, w, &p[2..])
        }
        _ => {
            if p.len() < 4 {
                return Err(bad());
            }
            let w = i16::from_le_bytes([p[2], p[3]]);
            (h & 0x4000, h & 0x3FFF, w, &p[4..])
        }
    };
    if digits.len() % 2 != 0 {
        return Err(bad());
    }
    let n = digits.len() / 2;
    let mut b = Vec::with_capacity(8 + digits.len());
    b.extend_from_slice(&(n as u16).to_be_bytes());
    b.extend_from_slice(&weight.to_be_bytes());
    b.extend_from_slice(&sign.to_be_bytes());
    b.extend_from_slice(&dscale.to_be_bytes());
    for i in 0..n {
        let d = u16::from_le_bytes([digits[2 * i], digits[2 * i + 1]]);
        b.extend_from_slice(&d.to_be_bytes());
    }
    Numeric::from_binary(&b).ok_or_else(bad)
}

/// `v` as a datum of type `oid`; `None` for NULL. The value must already
/// be of the column's type (the SQL layer coerces first); a mismatch is
/// an internal error, never a silent conversion.
pub fn to_datum(v: &Value, oid: Oid) -> Result<Option<Owned>, PgError> {
    use Value as V;
    Ok(Some(match (oid, v) {
        (_, V::Null) => return Ok(None),
        (types::BOOL, V::Bool(b)) => Owned::ByVal(*b as u64),
        (types::CHAR, V::Char(c)) => Owned::ByVal(*c as u64),
        (types::INT2, V::Int2(i)) => Owned::ByVal(*i as u16 as u64),
        (types::INT4, V::Int4(i)) => Owned::ByVal(*i as u32 as u64),
        (types::INT8, V::Int8(i)) => Owned::ByVal(*i as u64),
        (types::OID | REGPROC, V::Oid(o)) => Owned::ByVal(*o as u64),
        (t, V::Oid(o) | V::Reg(o, _)) if types::is_reg(t) => Owned::ByVal(*o as u64),
        (types::XID, V::Xid8(x)) => Owned::ByVal(*x as u32 as u64),
        (types::XID, V::Oid(x)) => Owned::ByVal(*x as u64),
        (types::XID8, V::Xid8(x)) => Owned::ByVal(*x),
        (types::FLOAT4, V::Float4(f)) => Owned::ByVal(f.to_bits() as u64),
        (types::FLOAT8, V::Float8(f)) => Owned::ByVal(f.to_bits()),
        (types::DATE, V::Date(d)) => Owned::ByVal(*d as u32 as u64),
        (types::TIMESTAMP, V::Timestamp(t)) => Owned::ByVal(*t as u64),
        (types::TIMESTAMPTZ, V::TimestampTz(t)) => Owned::ByVal(*t as u64),
        (types::PG_LSN, V::Lsn(l)) => Owned::ByVal(*l),
        // An enum is stored as PostgreSQL stores it: its pg_enum row's OID.
        (o, V::Enum(e)) if e.typ == o => Owned::ByVal(e.oid as u64),
        // uuid: its 16 bytes; money: int64 cents by value; bit/varbit:
        // PostgreSQL's VarBit body (int32 bit count, native order, then
        // the bits).
        (types::UUID, V::Uuid(u)) => Owned::Ref(u.to_vec()),
        // The geometric types: their binary (send) form, which has the
        // fixed types' exact lengths.
        (o, V::Geo(g)) if g.oid() == o => Owned::Ref(tusk_types::geo::send(g)),
        (types::MONEY, V::Money(m)) => Owned::ByVal(*m as u64),
        (types::BIT | types::VARBIT, V::Bits(bits)) => {
            let mut b = (bits.len as i32).to_le_bytes().to_vec();
            b.extend_from_slice(&bits.data);
            Owned::Ref(b)
        }
        // PostgreSQL's layouts, native (little-endian) order: Interval is
        // time i64, day i32, month i32 (16 bytes); TimeTzADT time i64,
        // zone i32 (12); time a by-value i64.
        (types::TIME, V::Time(t)) => Owned::ByVal(*t as u64),
        (types::INTERVAL, V::Interval(iv)) => {
            let mut b = Vec::with_capacity(16);
            b.extend_from_slice(&iv.micros.to_le_bytes());
            b.extend_from_slice(&iv.days.to_le_bytes());
            b.extend_from_slice(&iv.months.to_le_bytes());
            Owned::Ref(b)
        }
        (types::TIMETZ, V::TimeTz(t)) => {
            let mut b = Vec::with_capacity(12);
            b.extend_from_slice(&t.micros.to_le_bytes());
            b.extend_from_slice(&t.zone.to_le_bytes());
            Owned::Ref(b)
        }
        (types::NAME, V::Name(s) | V::Text(s)) => {
            // NAMEDATALEN 64: at most 63 bytes and a NUL, cut on a
            // character boundary as PostgreSQL's truncate_identifier.
            let mut end = s.len().min(63);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let mut b = vec![0u8; 64];
            b[..end].copy_from_slice(&s.as_bytes()[..end]);
            Owned::Ref(b)
        }
        (
            types::TEXT
            | types::VARCHAR
            | types::REFCURSOR
            | types::BPCHAR
            | PG_NODE_TREE
            | types::JSONPATH
            | types::TSVECTOR
            | types::TSQUERY,
            V::Text(s) | V::Name(s),
        ) => Owned::Ref(s.as_bytes().to_vec()),
        (types::BYTEA, V::Bytea(b)) => Owned::Ref(b.clone()),
        // oidvector and the catalog arrays (oid[], "char"[], text[]) have
        // no Value of their own: their callers pass the array's bytes
        // after the varlena header (PostgreSQL's ArrayType), and get them
        // back the same way.
        (OIDVECTOR | 1028 | 1002 | 1009, V::Bytea(b)) => Owned::Ref(b.clone()),
        (types::NUMERIC, V::Numeric(n)) => Owned::Ref(numeric_to_disk(n)),
        // json: its text. jsonb: tusk's own format, not PostgreSQL's
        // JsonbContainer: a version byte 1 and the normalised text (the
        // jsonb_send form); docs/architecture.md section 12.
        (types::JSON, V::Json(s)) => Owned::Ref(s.as_bytes().to_vec()),
        (types::JSONB, V::Jsonb(j)) => Owned::Ref(tusk_types::json::send_jsonb(j)),
        (o, V::Array(a)) if tusk_types::array::is_array(o) || o == OIDVECTOR || o == INT2VECTOR => {
            Owned::Ref(array_to_disk(a)?)
        }
        (INT2VECTOR | OIDVECTOR | INT2_ARRAY, V::Text(s)) => {
            Owned::Ref(vector_to_disk(s, oid).ok_or_else(|| mismatch(v, oid))?)
        }
        (ACLITEM_ARRAY, V::Text(s)) => Owned::Ref(acl_to_disk(s).ok_or_else(|| mismatch(v, oid))?),
        // Ranges and multiranges: tusk's own format, their binary send
        // form (not PostgreSQL's RangeType layout; section 12).
        (o, V::Range(r)) if r.ty == o => Owned::Ref(tusk_types::range::send(r)),
        (o, V::Multirange(m)) if m.ty == o => Owned::Ref(tusk_types::range::send_multi(m)),
        // A composite: its fields as a heap tuple of the type's current
        // attributes (PostgreSQL's composite datum is a tuple too).
        (o, V::Record(items)) if tusk_types::composite::is_composite(o) => {
            Owned::Ref(composite_to_disk(o, items)?)
        }
        _ => return Err(mismatch(v, oid)),
    }))
}

fn composite_oids(oid: Oid) -> Vec<Oid> {
    tusk_types::composite::composite(oid)
        .map(|t| t.fields.iter().map(|f| f.ty.oid).collect())
        .unwrap_or_default()
}

fn composite_to_disk(oid: Oid, items: &[(Oid, Value)]) -> Result<Vec<u8>, PgError> {
    let oids = composite_oids(oid);
    let mut values: Vec<Value> = items.iter().map(|(_, v)| v.clone()).collect();
    values.resize(oids.len(), Value::Null);
    form_row(&oids, &values)
}

fn composite_from_disk(oid: Oid, b: &[u8]) -> Result<Value, PgError> {
    let oids = composite_oids(oid);
    let values = deform_row(b, &oids)?;
    Ok(Value::Record(oids.into_iter().zip(values).collect()))
}

fn bad_range(oid: Oid) -> PgError {
    PgError::error(
        sqlstate::DATA_CORRUPTED,
        format!("invalid stored value of type {}", types::sql_name(oid)),
    )
}

/// Fetches the stored bytes of an out-of-line value from its toast table.
pub type ToastFetch<'f> = &'f mut dyn FnMut(&ExternalPointer) -> Result<Vec<u8>, PgError>;

/// A datum of type `oid` read back as a value. A compressed value is
/// decompressed; an out-of-line one needs [`from_datum_detoast`].
pub fn from_datum(d: Option<Datum<'_>>, oid: Oid) -> Result<Value, PgError> {
    from_datum_detoast(d, oid, &mut |p| {
        Err(PgError::error(
            sqlstate::INTERNAL_ERROR,
            format!("toast value {} read without its toast table", p.valueid),
        ))
    })
}

/// [`from_datum`], fetching out-of-line values with `fetch`.
pub fn from_datum_detoast(
    d: Option<Datum<'_>>,
    oid: Oid,
    fetch: ToastFetch<'_>,
) -> Result<Value, PgError> {
    let Some(d) = d else {
        return Ok(Value::Null);
    };
    let n = match d {
        Datum::ByVal(n) => n,
        Datum::Varlena(raw) => {
            let plain = toast::detoast(raw, fetch)?;
            return from_datum(Some(Datum::Ref(&plain)), oid);
        }
        Datum::Ref(b) => {
            return Ok(match oid {
                types::NAME => {
                    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
                    Value::Name(String::from_utf8_lossy(&b[..end]).into_owned())
                }
                types::TEXT
                | types::VARCHAR
                | types::REFCURSOR
                | types::BPCHAR
                | PG_NODE_TREE
                | types::JSONPATH
                | types::TSVECTOR
                | types::TSQUERY => Value::Text(String::from_utf8_lossy(b).into_owned()),
                types::BYTEA => Value::Bytea(b.to_vec()),
                types::NUMERIC => Value::Numeric(numeric_from_disk(b)?),
                types::JSON => Value::Json(String::from_utf8_lossy(b).into_owned()),
                types::JSONB => Value::Jsonb(Box::new(tusk_types::json::recv_jsonb(b)?)),
                INT2VECTOR | OIDVECTOR => Value::Text(vector_from_disk(b, oid)?),
                ACLITEM_ARRAY => Value::Text(acl_from_disk(b)?),
                o if tusk_types::array::is_array(o) => {
                    Value::Array(Box::new(array_from_disk(b, oid)?))
                }
                o if tusk_types::composite::is_composite(o) => composite_from_disk(o, b)?,
                o if tusk_types::range::is_range(o) => {
                    let rt = tusk_types::range::range_type(o).ok_or_else(|| bad_range(o))?;
                    Value::Range(Box::new(tusk_types::range::recv(b, rt)?))
                }
                o if tusk_types::range::is_multirange(o) => {
                    let rt = tusk_types::range::multirange_type(o).ok_or_else(|| bad_range(o))?;
                    Value::Multirange(Box::new(tusk_types::range::recv_multi(b, rt)?))
                }
                types::INTERVAL if b.len() == 16 => {
                    let i64_at =
                        |o: usize| i64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
                    let i32_at =
                        |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap_or_default());
                    Value::Interval(tusk_types::interval::Interval {
                        micros: i64_at(0),
                        days: i32_at(8),
                        months: i32_at(12),
                    })
                }
                types::UUID if b.len() == 16 => Value::Uuid(b.try_into().unwrap_or_default()),
                o if tusk_types::geo::is_geo(o) => {
                    Value::Geo(Box::new(tusk_types::geo::recv(o, b)?))
                }
                types::BIT | types::VARBIT if b.len() >= 4 => {
                    let mut wire = b[..4].to_vec();
                    wire.reverse();
                    wire.extend_from_slice(&b[4..]);
                    Value::Bits(Box::new(tusk_types::bits::recv(&wire).ok_or_else(
                        || PgError::error(sqlstate::DATA_CORRUPTED, "invalid stored bit string"),
                    )?))
                }
                types::TIMETZ if b.len() == 12 => Value::TimeTz(tusk_types::timeofday::TimeTz {
                    micros: i64::from_le_bytes(b[..8].try_into().unwrap_or_default()),
                    zone: i32::from_le_bytes(b[8..12].try_into().unwrap_or_default()),
                }),
                _ => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!("reading type {} is not supported yet", types::sql_name(oid)),
                    ))
                }
            });
        }
    };
    Ok(match oid {
        types::BOOL => Value::Bool(n & 0xFF != 0),
        types::CHAR => Value::Char(n as u8),
        types::INT2 => Value::Int2(n as u16 as i16),
        types::INT4 => Value::Int4(n as u32 as i32),
        types::INT8 => Value::Int8(n as i64),
        types::OID | REGPROC => Value::Oid(n as u32),
        t if types::is_reg(t) => Value::Oid(n as u32),
        // A 32-bit xid reads as a 4-byte unsigned value: text and binary
        // output then match PostgreSQL's xid (decimal; 4 bytes).
        types::XID => Value::Oid(n as u32),
        types::XID8 => Value::Xid8(n),
        types::FLOAT4 => Value::Float4(f32::from_bits(n as u32)),
        types::FLOAT8 => Value::Float8(f64::from_bits(n)),
        types::DATE => Value::Date(n as u32 as i32),
        types::TIMESTAMP => Value::Timestamp(n as i64),
        types::TIMESTAMPTZ => Value::TimestampTz(n as i64),
        types::TIME => Value::Time(n as i64),
        types::PG_LSN => Value::Lsn(n),
        o if tusk_types::usertype::is_enum(o) => tusk_types::usertype::from_label_oid(o, n as u32)?,
        types::MONEY => Value::Money(n as i64),
        _ => {
            return Err(PgError::error(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("reading type {} is not supported yet", types::sql_name(oid)),
            ))
        }
    })
}

/// A heap tuple (header without transaction fields yet) holding `values`
/// as columns of types `types_`.
pub fn form_row(types_: &[Oid], values: &[Value]) -> Result<Vec<u8>, PgError> {
    let attrs = attrs_for(types_)?;
    let owned = types_
        .iter()
        .zip(values)
        .map(|(&t, v)| to_datum(v, t))
        .collect::<Result<Vec<_>, _>>()?;
    let datums: Vec<Option<Datum>> = owned
        .iter()
        .map(|o| o.as_ref().map(Owned::as_datum))
        .collect();
    heaptuple::form_tuple(&attrs, &datums)
}

/// The columns of tuple `t` read as values of types `types_` (columns the
/// tuple predates come back NULL). Compressed values are decompressed; an
/// out-of-line value is an error (use [`deform_row_detoast`]).
pub fn deform_row(t: &[u8], types_: &[Oid]) -> Result<Vec<Value>, PgError> {
    let attrs = attrs_for(types_)?;
    let datums = heaptuple::deform_tuple(t, &attrs)?;
    datums
        .into_iter()
        .zip(types_)
        .map(|(d, &t)| from_datum(d, t))
        .collect()
}

/// [`deform_row`] with out-of-line values fetched by `fetch`.
pub fn deform_row_detoast(
    t: &[u8],
    types_: &[Oid],
    fetch: ToastFetch<'_>,
) -> Result<Vec<Value>, PgError> {
    let attrs = attrs_for(types_)?;
    let datums = heaptuple::deform_tuple(t, &attrs)?;
    datums
        .into_iter()
        .zip(types_)
        .map(|(d, &t)| from_datum_detoast(d, t, &mut *fetch))
        .collect()
}

/// The out-of-line pointers of tuple `t` (with their column numbers from
/// 0): what DELETE must remove and UPDATE may keep.
pub fn external_pointers(
    t: &[u8],
    types_: &[Oid],
) -> Result<Vec<(usize, ExternalPointer)>, PgError> {
    if heaptuple::infomask(t) & heaptuple::HEAP_HASEXTERNAL == 0 {
        return Ok(Vec::new());
    }
    let attrs = attrs_for(types_)?;
    let datums = heaptuple::deform_tuple(t, &attrs)?;
    Ok(datums
        .into_iter()
        .enumerate()
        .filter_map(|(i, d)| match d {
            Some(Datum::Varlena(raw)) => ExternalPointer::decode(raw).map(|p| (i, p)),
            _ => None,
        })
        .collect())
}

fn as_datums(owned: &[Option<Owned>]) -> Vec<Option<Datum<'_>>> {
    owned
        .iter()
        .map(|o| o.as_ref().map(Owned::as_datum))
        .collect()
}

/// Writes one out-of-line value: (stored bytes, va_rawsize, va_extinfo)
/// to its pointer.
pub type ToastSave<'f> = &'f mut dyn FnMut(&[u8], i32, u32) -> Result<ExternalPointer, PgError>;

/// [`form_row`] through the toaster: a row whose tuple exceeds
/// TOAST_TUPLE_THRESHOLD has its varlenas compressed and moved out of line
/// by storage strategy (`storage`, pg_attribute.attstorage per column) as
/// PostgreSQL does. `keep[i]`, when set, is an out-of-line pointer an
/// UPDATE re-uses for column i instead of its value. `save` writes a
/// value's chunks (None: no toast table, compression only).
pub fn form_row_toasted(
    types_: &[Oid],
    values: &[Value],
    storage: &[u8],
    keep: &[Option<ExternalPointer>],
    save: Option<ToastSave<'_>>,
) -> Result<Vec<u8>, PgError> {
    let attrs = attrs_for(types_)?;
    let mut owned = types_
        .iter()
        .zip(values)
        .map(|(&t, v)| to_datum(v, t))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, k) in keep.iter().enumerate() {
        if let (Some(p), Some(o)) = (k, owned.get_mut(i)) {
            *o = Some(Owned::Varlena(p.encode()));
        }
    }
    let size = heaptuple::tuple_size(&attrs, &as_datums(&owned))?;
    let has_external = owned.iter().any(|o| matches!(o, Some(Owned::Varlena(_))));
    if size <= toast::TOAST_TUPLE_THRESHOLD && !has_external {
        return heaptuple::form_tuple(&attrs, &as_datums(&owned));
    }
    if size > toast::TOAST_TUPLE_THRESHOLD {
        let mut tv: Vec<ToastValue> = owned
            .iter()
            .zip(attrs.iter())
            .map(|(o, a)| match (o, a.len) {
                (Some(Owned::Ref(p)), -1) => ToastValue::Plain(p.clone()),
                (Some(Owned::Varlena(r)), -1) => ToastValue::Raw(r.clone()),
                _ => ToastValue::Other,
            })
            .collect();
        let bitmap = if owned.iter().any(|o| o.is_none()) {
            attrs.len().div_ceil(8)
        } else {
            0
        };
        let hoff = crate::page::maxalign(heaptuple::SIZEOF_HEAP_TUPLE_HEADER + bitmap);
        // The row's size with the toaster's current values in place.
        let measure = |tv: &[ToastValue]| -> Result<usize, PgError> {
            let d: Vec<Option<Datum>> = owned
                .iter()
                .zip(tv)
                .map(|(o, t)| match t {
                    ToastValue::Plain(p) => Some(Datum::Ref(p)),
                    ToastValue::Raw(r) => Some(Datum::Varlena(r)),
                    ToastValue::Other => o.as_ref().map(Owned::as_datum),
                })
                .collect();
            heaptuple::tuple_size(&attrs, &d)
        };
        toast::toast_row(storage, &mut tv, &measure, hoff, save)?;
        for (o, t) in owned.iter_mut().zip(tv) {
            match t {
                ToastValue::Plain(p) => *o = Some(Owned::Ref(p)),
                ToastValue::Raw(r) => *o = Some(Owned::Varlena(r)),
                ToastValue::Other => {}
            }
        }
    }
    heaptuple::form_tuple(&attrs, &as_datums(&owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(ty: Oid, v: Value) {
        let t = form_row(&[ty, types::INT4], &[v.clone(), Value::Null]).unwrap();
        let back = deform_row(&t, &[ty, types::INT4]).unwrap();
        assert_eq!(back, vec![v, Value::Null], "type {ty}");
    }

    #[test]
    fn aclitem_arrays_have_postgresql_layout() {
        let text = "{10=arwdDxt/10,16384=r*w/10,=U/10}";
        let b = acl_to_disk(text).unwrap();
        // ndim 1, no nulls, element aclitem, 3 items from 1, then 12 bytes each.
        assert_eq!(
            &b[..20],
            &[1, 0, 0, 0, 0, 0, 0, 0, 0x09, 4, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(b.len(), 20 + 36);
        // r with its grant option: bit 1 and bit 17; w: bit 2.
        assert_eq!(&b[32..44], &[0, 0x40, 0, 0, 10, 0, 0, 0, 6, 0, 2, 0]);
        assert_eq!(acl_from_disk(&b).unwrap(), text);
        assert_eq!(acl_from_disk(&acl_to_disk("{}").unwrap()).unwrap(), "{}");
        round_trip(ACLITEM_ARRAY, Value::Text(text.into()));
    }

    #[test]
    fn every_stored_type_round_trips() {
        round_trip(types::BOOL, Value::Bool(true));
        round_trip(types::CHAR, Value::Char(b'r'));
        round_trip(types::INT2, Value::Int2(-7));
        round_trip(types::INT4, Value::Int4(i32::MIN));
        round_trip(types::INT8, Value::Int8(-1));
        round_trip(types::OID, Value::Oid(4_000_000_000));
        round_trip(types::XID, Value::Oid(4_000_000_001));
        round_trip(types::FLOAT4, Value::Float4(1.5));
        round_trip(types::FLOAT8, Value::Float8(-0.25));
        round_trip(types::NAME, Value::Name("pg_class".into()));
        round_trip(types::TEXT, Value::Text("héllo".into()));
        round_trip(types::TEXT, Value::Text("x".repeat(300)));
        round_trip(types::BYTEA, Value::Bytea(vec![0, 1, 255]));
        round_trip(types::DATE, Value::Date(-3));
        round_trip(types::TIMESTAMPTZ, Value::TimestampTz(123_456_789));
        round_trip(types::TIMESTAMP, Value::Timestamp(-5));
        round_trip(types::TIME, Value::Time(86_400_000_000));
        round_trip(types::MONEY, Value::Money(-12_345));
        round_trip(types::UUID, Value::Uuid(*b"0123456789abcdef"));
        for s in ["", "1", "10110", "101100111"] {
            let bits = tusk_types::bits::parse(s).unwrap();
            round_trip(types::BIT, Value::Bits(Box::new(bits.clone())));
            round_trip(types::VARBIT, Value::Bits(Box::new(bits)));
        }
        round_trip(
            types::INTERVAL,
            Value::Interval(tusk_types::interval::Interval::new(-14, 3, -5_000_001)),
        );
        round_trip(
            types::TIMETZ,
            Value::TimeTz(tusk_types::timeofday::TimeTz {
                micros: 3_600_000_000,
                zone: -19_800,
            }),
        );
        round_trip(types::JSON, Value::Json("{\"b\": 1,  \"a\":[2]}".into()));
        round_trip(
            types::JSONB,
            Value::Jsonb(Box::new(
                tusk_types::json::parse_jsonb("{\"b\": 1.50, \"a\": [2, null]}").unwrap(),
            )),
        );
        for s in [
            "0",
            "1",
            "-1",
            "0.001",
            "123456789.123456789",
            "1e100",
            "-1e-100",
            "NaN",
            "Infinity",
            "-Infinity",
            "10000",
            "0.00",
        ] {
            round_trip(types::NUMERIC, Value::Numeric(Numeric::parse(s).unwrap()));
        }
    }

    #[test]
    fn layouts_are_postgresqls() {
        // int4 1 then int8: the int8 is 8-aligned after the 32-byte header.
        let t = form_row(
            &[types::INT4, types::INT8],
            &[Value::Int4(1), Value::Int8(2)],
        )
        .unwrap();
        let h = t[heaptuple::T_OFF_HOFF] as usize;
        assert_eq!(h, 24 + 8, "header of 23 bytes maxaligned");
        assert_eq!(&t[h..h + 4], &1i32.to_le_bytes());
        assert_eq!(&t[h + 8..h + 16], &2i64.to_le_bytes());
        // name: 64 bytes, NUL-padded.
        let t = form_row(&[types::NAME], &[Value::Name("ab".into())]).unwrap();
        let h = t[heaptuple::T_OFF_HOFF] as usize;
        assert_eq!(t.len() - h, 64);
        assert_eq!(&t[h..h + 3], b"ab\0");
        // Numeric 1.5: short header (dscale 1, weight 0) then digits 1, 5000
        // as PostgreSQL's numeric_in stores it.
        let d = numeric_to_disk(&Numeric::parse("1.5").unwrap());
        assert_eq!(d, [0x80, 0x80, 1, 0, 0x88, 0x13]);
        // A NaN is the special header alone.
        assert_eq!(numeric_to_disk(&Numeric::nan()), 0xC000u16.to_le_bytes());
    }

    #[test]
    fn mismatched_value_is_an_error_not_a_conversion() {
        let e = form_row(&[types::INT4], &[Value::Text("1".into())]).unwrap_err();
        assert_eq!(e.code, sqlstate::INTERNAL_ERROR);
    }

    #[test]
    fn wide_rows_are_toasted_and_read_back() {
        let tys = [types::INT4, types::TEXT, types::BYTEA];
        let text = "toast me ".repeat(3000);
        let mut seed = 3u64;
        let noise: Vec<u8> = (0..20_000)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                (seed >> 33) as u8
            })
            .collect();
        let row = vec![
            Value::Int4(7),
            Value::Text(text.clone()),
            Value::Bytea(noise.clone()),
        ];
        let storage = [b'p', b'x', b'x'];
        // Without a toast table: the text compresses inline, the random
        // bytea cannot shrink, so the row is too big for a page later.
        let t = form_row_toasted(&tys, &row, &storage, &[], None).unwrap();
        assert!(t.len() > toast::TOAST_TUPLE_THRESHOLD);
        assert_eq!(deform_row(&t, &tys).unwrap(), row);
        // With one: the bytea goes out of line in chunks, the text stays
        // compressed inline, and the whole row fits the threshold.
        let store: std::cell::RefCell<Vec<Vec<u8>>> = Default::default();
        let mut save = |b: &[u8], raw: i32, ext: u32| {
            store.borrow_mut().push(b.to_vec());
            Ok(ExternalPointer {
                rawsize: raw,
                extinfo: ext,
                valueid: store.borrow().len() as u32,
                toastrelid: 16_500,
            })
        };
        let t = form_row_toasted(&tys, &row, &storage, &[], Some(&mut save)).unwrap();
        assert!(t.len() <= toast::TOAST_TUPLE_THRESHOLD, "{}", t.len());
        assert_eq!(
            heaptuple::infomask(&t) & heaptuple::HEAP_HASEXTERNAL,
            heaptuple::HEAP_HASEXTERNAL
        );
        let ptrs = external_pointers(&t, &tys).unwrap();
        assert_eq!(ptrs.len(), 1);
        assert_eq!(ptrs[0].0, 2);
        assert_eq!(ptrs[0].1.rawsize, 20_004);
        assert!(deform_row(&t, &tys).is_err(), "no fetcher, no value");
        let back = deform_row_detoast(&t, &tys, &mut |p| {
            Ok(store.borrow()[p.valueid as usize - 1].clone())
        })
        .unwrap();
        assert_eq!(back, row);
        // An UPDATE keeping the pointer stores no new chunk.
        let before = store.borrow().len();
        let keep = [None, None, Some(ptrs[0].1)];
        let t2 = form_row_toasted(&tys, &row, &storage, &keep, Some(&mut save)).unwrap();
        assert_eq!(store.borrow().len(), before);
        assert_eq!(external_pointers(&t2, &tys).unwrap(), ptrs);
    }

    #[test]
    fn arrays_round_trip_in_postgres_layout() {
        use tusk_types::array::{parse, Array};
        let arr =
            |s: &str, elem: Oid| Value::Array(Box::new(parse(s, types::Ty::new(elem), 0).unwrap()));
        round_trip(1007, arr("{1,2,NULL}", types::INT4));
        round_trip(1007, arr("[0:1][3:4]={{1,2},{3,4}}", types::INT4));
        round_trip(1007, arr("{}", types::INT4));
        round_trip(1009, arr(r#"{"a b",NULL,"x"}"#, types::TEXT));
        round_trip(1016, arr("{1,NULL,-3}", types::INT8));
        round_trip(1231, arr("{1.5,NULL,-3e10}", types::NUMERIC));
        round_trip(1003, arr("{a,b}", types::NAME));
        round_trip(1000, arr("{t,f}", types::BOOL));
        round_trip(1022, arr("{1.5,2}", types::FLOAT8));
        // PostgreSQL 15's bytes for '{1,2}'::int4[] after the header:
        // ndim 1, dataoffset 0, elemtype 23, dim 2, lbound 1, 1, 2.
        let Value::Array(a) = arr("{1,2}", types::INT4) else {
            unreachable!()
        };
        let d = array_to_disk(&a).unwrap();
        let w: Vec<i32> = d
            .chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(w, vec![1, 0, 23, 2, 1, 1, 2]);
        // With a NULL: bitmap 0b101 after lbound, data at MAXALIGN(16+8+1)=32.
        let Value::Array(a) = arr("{1,NULL,3}", types::INT4) else {
            unreachable!()
        };
        let d = array_to_disk(&a).unwrap();
        assert_eq!(i32::from_le_bytes(d[4..8].try_into().unwrap()), 32);
        assert_eq!(d[20], 0b101);
        assert_eq!(&d[28..36], &[1, 0, 0, 0, 3, 0, 0, 0]);
        let empty = Array::from_items(types::TEXT, vec![]);
        assert_eq!(
            array_to_disk(&empty).unwrap(),
            [0, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0]
        );
    }

    #[test]
    fn long_names_are_cut_at_63_bytes() {
        let t = form_row(&[types::NAME], &[Value::Name("é".repeat(40))]).unwrap();
        let back = deform_row(&t, &[types::NAME]).unwrap();
        assert_eq!(back, vec![Value::Name("é".repeat(31))]);
    }
}
