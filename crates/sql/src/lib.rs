//! tusk-sql
