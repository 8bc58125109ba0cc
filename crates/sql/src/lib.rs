//! tusk-sql (work in progress)
pub mod cast;
pub mod datetime;
pub mod numeric;
pub mod types;
pub mod value;
