//! tusk-wire
