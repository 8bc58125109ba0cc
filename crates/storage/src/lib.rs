//! tusk-storage
