//! Polymorphic pseudo-types of user routines (anyelement, anyarray, ...,
//! anycompatiblemultirange): the CREATE-time check that a polymorphic
//! result can be deduced, and the call-time resolution of each declared
//! type to an actual one.
//!
//! Why it is built this way: PostgreSQL resolves polymorphism per call
//! from the actual argument types (parse_coerce.c's
//! check_generic_type_consistency / enforce_generic_type_consistency).
//! Here a call specialises the routine's [`FuncDef`] (declared types
//! replaced by actual ones), so the body is bound and run exactly as a
//! non-polymorphic routine's would be; the resolution doubles as the
//! overload test (a candidate whose polymorphic arguments disagree does
//! not match, as in PostgreSQL).

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::catalog::FuncDef;
use crate::types::{self, Oid};

pub use crate::types::{
    ANYARRAY, ANYCOMPATIBLE, ANYCOMPATIBLEARRAY, ANYCOMPATIBLEMULTIRANGE, ANYCOMPATIBLENONARRAY,
    ANYCOMPATIBLERANGE, ANYELEMENT, ANYENUM, ANYMULTIRANGE, ANYNONARRAY, ANYRANGE,
};

/// The pseudo-type a routine declaration names, if `name` is one.
pub(crate) fn by_name(name: &str) -> Option<Oid> {
    Some(match name {
        "anyelement" => ANYELEMENT,
        "anyarray" => ANYARRAY,
        "anynonarray" => ANYNONARRAY,
        "anyenum" => ANYENUM,
        "anyrange" => ANYRANGE,
        "anymultirange" => ANYMULTIRANGE,
        "anycompatible" => ANYCOMPATIBLE,
        "anycompatiblearray" => ANYCOMPATIBLEARRAY,
        "anycompatiblenonarray" => ANYCOMPATIBLENONARRAY,
        "anycompatiblerange" => ANYCOMPATIBLERANGE,
        "anycompatiblemultirange" => ANYCOMPATIBLEMULTIRANGE,
        _ => return None,
    })
}

/// The anyelement family (resolved to one element type together).
fn is_family1(t: Oid) -> bool {
    matches!(
        t,
        ANYELEMENT | ANYARRAY | ANYNONARRAY | ANYENUM | ANYRANGE | ANYMULTIRANGE
    )
}

/// The anycompatible family (resolved to a common type together).
fn is_family2(t: Oid) -> bool {
    matches!(
        t,
        ANYCOMPATIBLE
            | ANYCOMPATIBLEARRAY
            | ANYCOMPATIBLENONARRAY
            | ANYCOMPATIBLERANGE
            | ANYCOMPATIBLEMULTIRANGE
    )
}

pub(crate) fn is_polymorphic(t: Oid) -> bool {
    is_family1(t) || is_family2(t)
}

/// Whether a routine declares a polymorphic input or result.
pub(crate) fn def_is_polymorphic(def: &FuncDef) -> bool {
    def.arg_types.iter().any(|&t| is_polymorphic(t))
        || is_polymorphic(def.ret)
        || def.out_cols.iter().any(|c| is_polymorphic(c.1))
}

/// PostgreSQL's check_valid_polymorphic_signature: a polymorphic result
/// needs an input it can be deduced from (42P13 otherwise).
pub(crate) fn check_result(ret: Oid, inputs: &[Oid]) -> Result<(), PgError> {
    let has = |set: &[Oid]| inputs.iter().any(|t| set.contains(t));
    let detail = match ret {
        ANYRANGE | ANYMULTIRANGE if !has(&[ANYRANGE, ANYMULTIRANGE]) => {
            "requires at least one input of type anyrange or anymultirange."
        }
        ANYELEMENT | ANYARRAY | ANYNONARRAY | ANYENUM
            if !inputs.iter().any(|&t| is_family1(t)) =>
        {
            "requires at least one input of type anyelement, anyarray, anynonarray, anyenum, anyrange, or anymultirange."
        }
        ANYCOMPATIBLERANGE | ANYCOMPATIBLEMULTIRANGE
            if !has(&[ANYCOMPATIBLERANGE, ANYCOMPATIBLEMULTIRANGE]) =>
        {
            "requires at least one input of type anycompatiblerange or anycompatiblemultirange."
        }
        ANYCOMPATIBLE | ANYCOMPATIBLEARRAY | ANYCOMPATIBLENONARRAY
            if !inputs.iter().any(|&t| is_family2(t)) =>
        {
            "requires at least one input of type anycompatible, anycompatiblearray, anycompatiblenonarray, anycompatiblerange, or anycompatiblemultirange."
        }
        _ => return Ok(()),
    };
    Err(PgError::error(
        crate::routine::codes::INVALID_FUNCTION_DEFINITION,
        "cannot determine result data type",
    )
    .with_detail(format!(
        "A result of type {} {detail}",
        types::sql_name(ret)
    )))
}

/// The actual types the polymorphic pseudo-types of one call stand for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Binding {
    elem: Option<Oid>,
    range: Option<Oid>,
    common: Option<Oid>,
    crange: Option<Oid>,
}

/// Why a call's arguments do not fit a polymorphic signature.
pub(crate) enum Mismatch {
    /// The candidate does not match (the call reports "does not exist").
    NoMatch,
    /// It matches but a type cannot be determined (PostgreSQL's error).
    Error(PgError),
}

fn same(slot: &mut Option<Oid>, t: Oid) -> Result<(), Mismatch> {
    match *slot {
        Some(s) if s != t => Err(Mismatch::NoMatch),
        _ => {
            *slot = Some(t);
            Ok(())
        }
    }
}

/// Resolves the pseudo-types of `declared` from the call's `actual`
/// argument types (UNKNOWN for untyped literals and NULL).
/// `implicit_ok` and `common` are the binder's implicit-cast test and
/// select_common_type.
pub(crate) fn bind(
    declared: &[Oid],
    actual: &[Oid],
    implicit_ok: &dyn Fn(Oid, Oid) -> bool,
    common: &dyn Fn(&[Oid]) -> Option<Oid>,
) -> Result<Binding, Mismatch> {
    bind_inner(declared, actual, implicit_ok, common, false)
}

/// [`bind`] where the actual types may themselves be pseudo-types (the
/// argument types of a polymorphic aggregate's support functions): an
/// anyelement or anyarray argument stands for an element type not known
/// yet, consistent only with the same unknown, never with a concrete type
/// (PostgreSQL's check_generic_type_consistency).
pub(crate) fn bind_pseudo(
    declared: &[Oid],
    actual: &[Oid],
    implicit_ok: &dyn Fn(Oid, Oid) -> bool,
    common: &dyn Fn(&[Oid]) -> Option<Oid>,
) -> Result<Binding, Mismatch> {
    bind_inner(declared, actual, implicit_ok, common, true)
}

fn bind_inner(
    declared: &[Oid],
    actual: &[Oid],
    implicit_ok: &dyn Fn(Oid, Oid) -> bool,
    common: &dyn Fn(&[Oid]) -> Option<Oid>,
    pseudo: bool,
) -> Result<Binding, Mismatch> {
    let mut b = Binding::default();
    let mut elem_from_elem: Option<Oid> = None;
    let mut array: Option<Oid> = None;
    let mut multi: Option<Oid> = None;
    let mut cmulti: Option<Oid> = None;
    let mut compat: Vec<Oid> = Vec::new();
    let mut have_unknown1 = false;
    let mut unknown_range2: Option<Oid> = None;
    for (&d, &a) in declared.iter().zip(actual) {
        if !is_polymorphic(d) {
            continue;
        }
        if a == types::UNKNOWN {
            have_unknown1 |= is_family1(d);
            if matches!(d, ANYCOMPATIBLERANGE | ANYCOMPATIBLEMULTIRANGE) {
                unknown_range2.get_or_insert(d);
            }
            continue;
        }
        if pseudo && is_polymorphic(a) {
            if a != d {
                return Err(Mismatch::NoMatch);
            }
            if is_family1(d) {
                same(&mut elem_from_elem, ANYELEMENT)?;
            } else {
                compat.push(ANYCOMPATIBLE);
            }
            continue;
        }
        match d {
            ANYELEMENT | ANYNONARRAY | ANYENUM => same(&mut elem_from_elem, a)?,
            ANYARRAY => {
                if a == ANYARRAY {
                    return Err(Mismatch::Error(PgError::error(
                        sqlstate::DATATYPE_MISMATCH,
                        "cannot determine element type of \"anyarray\" argument",
                    )));
                }
                if types::array::elem_type(a).is_none() {
                    return Err(Mismatch::NoMatch);
                }
                same(&mut array, a)?
            }
            ANYRANGE => {
                if !tusk_types::range::is_range(a) {
                    return Err(Mismatch::NoMatch);
                }
                same(&mut b.range, a)?
            }
            ANYMULTIRANGE => {
                if !tusk_types::range::is_multirange(a) {
                    return Err(Mismatch::NoMatch);
                }
                same(&mut multi, a)?
            }
            ANYCOMPATIBLE | ANYCOMPATIBLENONARRAY => {
                if d == ANYCOMPATIBLENONARRAY && types::array::elem_type(a).is_some() {
                    return Err(Mismatch::NoMatch);
                }
                compat.push(a)
            }
            ANYCOMPATIBLEARRAY => match types::array::elem_type(a) {
                Some(e) => compat.push(e),
                None => return Err(Mismatch::NoMatch),
            },
            ANYCOMPATIBLERANGE => {
                if !tusk_types::range::is_range(a) {
                    return Err(Mismatch::NoMatch);
                }
                same(&mut b.crange, a)?
            }
            ANYCOMPATIBLEMULTIRANGE => {
                if !tusk_types::range::is_multirange(a) {
                    return Err(Mismatch::NoMatch);
                }
                same(&mut cmulti, a)?
            }
            _ => {}
        }
    }
    // The anyelement family: one element type behind all of them.
    if let Some(m) = multi {
        let r = tusk_types::range::multirange_type(m).map(|r| r.oid);
        match (b.range, r) {
            (Some(x), Some(y)) if x != y => return Err(Mismatch::NoMatch),
            (_, Some(y)) => b.range = Some(y),
            _ => return Err(Mismatch::NoMatch),
        }
    }
    let mut elem = elem_from_elem;
    if let Some(a) = array {
        same(&mut elem, types::array::elem_type(a).unwrap_or(0))?;
    }
    if let Some(r) = b.range {
        let sub = tusk_types::range::range_type(r).map(|t| t.sub);
        same(&mut elem, sub.unwrap_or(0))?;
    }
    if let Some(e) = elem {
        if declared.contains(&ANYNONARRAY) && types::array::elem_type(e).is_some() {
            return Err(Mismatch::NoMatch);
        }
        if declared.contains(&ANYENUM) && !tusk_types::usertype::is_enum(e) {
            return Err(Mismatch::NoMatch);
        }
    } else if have_unknown1 {
        return Err(Mismatch::Error(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            "could not determine polymorphic type because input has type unknown",
        )));
    }
    b.elem = elem;
    // The anycompatible family: the common type of its arguments, or the
    // subtype of its range argument (which all must cast to implicitly).
    if let Some(m) = cmulti {
        let r = tusk_types::range::multirange_type(m).map(|r| r.oid);
        match (b.crange, r) {
            (Some(x), Some(y)) if x != y => return Err(Mismatch::NoMatch),
            (_, Some(y)) => b.crange = Some(y),
            _ => return Err(Mismatch::NoMatch),
        }
    }
    if let (None, None, Some(d)) = (b.crange, cmulti, unknown_range2) {
        return Err(Mismatch::Error(PgError::error(
            sqlstate::DATATYPE_MISMATCH,
            format!(
                "could not determine polymorphic type {} because input has type unknown",
                types::sql_name(d)
            ),
        )));
    }
    let target = match b.crange {
        Some(r) => tusk_types::range::range_type(r).map(|t| t.sub),
        None if compat.is_empty() => None,
        None => match common(&compat) {
            Some(t) => Some(t),
            None => return Err(Mismatch::NoMatch),
        },
    };
    if let Some(t) = target {
        if compat.iter().any(|&c| !implicit_ok(c, t)) {
            return Err(Mismatch::NoMatch);
        }
        if declared.contains(&ANYCOMPATIBLENONARRAY) && types::array::elem_type(t).is_some() {
            return Err(Mismatch::NoMatch);
        }
    }
    // Only untyped literals: PostgreSQL resolves anycompatible to text.
    b.common = target.or_else(|| {
        declared
            .iter()
            .any(|&d| is_family2(d))
            .then_some(types::TEXT)
    });
    Ok(b)
}

impl Binding {
    /// The actual type `declared` stands for in this call (itself when not
    /// polymorphic).
    pub(crate) fn resolve(&self, declared: Oid) -> Result<Oid, PgError> {
        let arr = |e: Option<Oid>| -> Result<Oid, PgError> {
            crate::bind::array::array_type_of(e.unwrap_or(types::TEXT))
        };
        let range_of = |r: Option<Oid>, e: Option<Oid>| -> Result<Oid, PgError> {
            r.or_else(|| e.and_then(|e| tusk_types::range::range_of_subtype(e).map(|r| r.oid)))
                .ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!(
                            "could not find range type for data type {}",
                            types::sql_name(e.unwrap_or(types::TEXT))
                        ),
                    )
                })
        };
        let multi_of = |r: Oid| -> Result<Oid, PgError> {
            tusk_types::range::range_type(r)
                .map(|t| t.multi)
                .ok_or_else(|| {
                    PgError::error(
                        sqlstate::UNDEFINED_OBJECT,
                        format!(
                            "could not find multirange type for data type {}",
                            types::sql_name(r)
                        ),
                    )
                })
        };
        if self.elem == Some(ANYELEMENT) && is_family1(declared) {
            return Ok(declared);
        }
        if self.common == Some(ANYCOMPATIBLE) && is_family2(declared) {
            return Ok(declared);
        }
        Ok(match declared {
            ANYELEMENT | ANYNONARRAY | ANYENUM => self.elem.unwrap_or(types::TEXT),
            ANYARRAY => arr(self.elem)?,
            ANYRANGE => range_of(self.range, self.elem)?,
            ANYMULTIRANGE => multi_of(range_of(self.range, self.elem)?)?,
            ANYCOMPATIBLE | ANYCOMPATIBLENONARRAY => self.common.unwrap_or(types::TEXT),
            ANYCOMPATIBLEARRAY => arr(self.common)?,
            ANYCOMPATIBLERANGE => range_of(self.crange, self.common)?,
            ANYCOMPATIBLEMULTIRANGE => multi_of(range_of(self.crange, self.common)?)?,
            t => t,
        })
    }

    /// `def` with its polymorphic types replaced by this call's actual
    /// ones: what the call binds and runs.
    pub(crate) fn specialize(&self, def: &FuncDef) -> Result<FuncDef, PgError> {
        let mut d = def.clone();
        for t in d.arg_types.iter_mut() {
            *t = self.resolve(*t)?;
        }
        d.ret = self.resolve(d.ret)?;
        for c in d.out_cols.iter_mut() {
            c.1 = self.resolve(c.1)?;
        }
        Ok(d)
    }
}
