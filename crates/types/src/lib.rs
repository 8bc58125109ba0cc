//! tusk-types: PostgreSQL's built-in data types, below storage and sql.
//!
//! Moved here unchanged from tusk-sql so that storage can use type
//! descriptors and values without depending on the SQL layer.

pub mod cast;
pub mod datetime;
pub mod numeric;
pub mod types;
pub mod value;

pub use numeric::Numeric;
pub use types::Oid;
pub use value::Value;
