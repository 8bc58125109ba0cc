//! tusk-ops: the operator commands that are not the running server.
//!
//! Moved here unchanged from the tusk binary so that they are library code
//! with unit tests.

pub mod check;
pub mod ctl;
pub mod ipc;
pub mod os;

// os.rs names the sizing module as its parent's, as it did in
// tusk_server::resources.
use tusk_server::resources::sizing;
