//! Pieces every tusk process and crate shares: the PostgreSQL error report
//! and its SQLSTATE codes, and the server log.
//!
//! Main types:
//! - [`PgError`]: an error as a client sees it (severity, SQLSTATE, message,
//!   detail, hint). Every layer that can refuse something a client asked for
//!   returns one, so the backend can send it unchanged as an ErrorResponse.
//! - [`sqlstate`]: the SQLSTATE codes tusk uses, named as in PostgreSQL's
//!   `errcodes.txt`.
//! - [`elog`]: the per-process log writer (stderr, PostgreSQL's
//!   `log_line_prefix` escapes, `log_min_messages`).
//! - [`fasthash::FastMap`]: a HashMap with a cheap hasher for internal keys
//!   looked up per row.
//! - [`pidfile::PidFile`]: the one parser of `postmaster.pid`, for the
//!   server that writes it and the tools that read it.
//!
//! This crate has no dependencies on the rest of tusk and holds no policy.

pub mod elog;
pub mod error;
pub mod fasthash;
pub mod pidfile;
pub mod sqlstate;
pub mod time;

pub use error::{ObjectNames, PgError, Severity};
pub use sqlstate::SqlState;
