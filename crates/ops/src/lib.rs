//! tusk-ops: the operator commands that are not the running server.
//!
//! Moved here unchanged from the tusk binary so that they are library code
//! with unit tests.

pub mod check;
pub mod ctl;
pub mod ipc;
