//! tusk-config
