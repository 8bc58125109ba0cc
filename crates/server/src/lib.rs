//! tusk-server
