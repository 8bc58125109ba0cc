//! tusk-types: PostgreSQL's built-in data types, the bottom layer that
//! storage and sql both build on.
//!
//! Why a crate of its own: the storage layer needs each type's length,
//! alignment, by-value flag and storage strategy (to lay out heap tuples)
//! and its comparison (for btree), and the SQL layer needs the same types
//! to bind and evaluate expressions. With the types inside sql, storage
//! would have to depend on sql while sql reads tables through storage: a
//! cycle. Here they sit below both (crates in the order data flows:
//! types <- storage <- sql <- server). Nothing in this crate does I/O or
//! touches shared memory, so any process may call any of it.
//!
//! Modules:
//! - [`types`]: the type OIDs and the descriptor table [`TypeInfo`] (OID,
//!   name, `typlen`, `typalign`, `typbyval`, `typstorage`), type
//!   modifiers ([`Ty`]), categories and SQL type-name lookup.
//! - [`value`]: [`Value`], one SQL value; the text and binary wire
//!   encodings, parameter decoding and the total order ([`compare`]).
//! - [`numeric`]: [`Numeric`], PostgreSQL's arbitrary-precision decimal.
//! - [`datetime`]: `date`, `timestamp` and `timestamptz` text I/O;
//!   [`dtparse`] reads every input form PostgreSQL's parser takes.
//! - [`interval`]: `interval` (months, days, microseconds): input in
//!   every PostgreSQL form, output per `IntervalStyle`, order, arithmetic.
//! - [`timeofday`]: `time` and `timetz` text I/O and order.
//! - [`uuid`], [`money`], [`bits`] (bit / varbit), [`lsn`] (pg_lsn
//!   input and arithmetic): the scalar types of their own files.
//! - [`geo`]: the geometric types (point, lseg, line, box, path,
//!   polygon, circle): text and binary forms and their operators.
//! - [`tz`]: time zones from the system tzdata (TZif, POSIX rules) and
//!   the session's `TimeZone` and `DateStyle`.
//! - [`array`]: arrays' text, binary forms and order (`Value::Array`).
//! - [`range`]: range and multirange types over any subtype
//!   (`Value::Range`, `Value::Multirange`): I/O, canonical form, operators.
//! - [`usertype`]: the registry of user-defined (enum) types and enum
//!   values' input, output and order.
//! - [`composite`]: named composite types' registry, anonymous records'
//!   field lists, record_in.
//! - [`cast`]: type input functions and the conversions between types
//!   ([`castable`] decides, [`cast::cast`] performs).
//!
//! Main types: [`TypeInfo`], [`Ty`], [`Oid`], [`Value`], [`Numeric`].

pub mod array;
pub mod bits;
pub mod cast;
pub mod composite;
pub mod datetime;
pub mod dtparse;
pub mod geo;
pub mod interval;
pub mod json;
pub mod jsonpath;
pub mod lsn;
pub mod money;
pub mod numeric;
pub mod range;
pub mod timeofday;
pub mod tsearch;
pub mod types;
pub mod tz;
pub mod usertype;
pub mod uuid;
pub mod value;

pub use cast::castable;
pub use numeric::Numeric;
pub use types::{type_info, Align, Oid, Storage, Ty, TypeInfo, TYPES};
pub use value::{compare, Value};
