//! The PostgreSQL v3 frontend/backend protocol for one blocking connection
//! inside a forked backend: no async runtime, no threads, no pgwire types in
//! the API (pgwire's codec is used inside, so replacing it stays local).
//!
//! Main types:
//! - [`Conn`]: owns the stream plus an input and an output buffer. Reading
//!   ([`Conn::read_startup`], [`Conn::read_message`]) blocks until one whole
//!   packet is in; an error from the stream (a signal's `Interrupted`) is
//!   returned as [`WireError::Io`] without losing buffered bytes, and the
//!   next call continues the same message. Output methods
//!   ([`Conn::ready_for_query`], [`Conn::data_row`], ...) only append to the
//!   output buffer; [`Conn::flush`] writes it.
//! - [`StartupRequest`]: the first packet: SSLRequest, GSSENCRequest,
//!   CancelRequest or StartupMessage.
//! - [`FrontendMessage`]: everything a client sends after that.
//! - [`WireError`]: what can go wrong reading, and
//!   [`WireError::to_pg_error`] for what to tell the client.
//! - [`TxStatus`], [`FieldDesc`], [`Target`]: small protocol values.
//!
//! Message framing (all integers big-endian; a length counts itself but
//! never the type byte):
//!
//! ```text
//! Before startup completes, packets carry no type byte:
//!
//!   +-----------+-----------+------------------------------------------+
//!   | length    | code      | body                                     |
//!   | Int32     | Int32     | length - 8 bytes                         |
//!   +-----------+-----------+------------------------------------------+
//!     8..=10004   196608      StartupMessage v3.0: name\0value\0...\0
//!                 80877103    SSLRequest    (length 8, no body) -> 'N'
//!                 80877104    GSSENCRequest (length 8, no body) -> 'N'
//!                 80877102    CancelRequest: pid Int32, key Int32
//!                             (length exactly 16)
//!
//! Every later message, in both directions:
//!
//!   +------+-----------+----------------------------------------------+
//!   | type | length    | body                                         |
//!   | Byte | Int32     | length - 4 bytes                             |
//!   +------+-----------+----------------------------------------------+
//!
//!   ReadyForQuery, idle:   'Z' 00 00 00 05 'I'
//!   Query "select 1":      'Q' 00 00 00 0d  s e l e c t ' ' 1 00
//!   ErrorResponse:         'E' len  'S' ERROR 00  'V' ERROR 00  'C' 42P01 00
//!                                   'M' message 00  ['D' ... 00] ['H' ... 00] 00
//!   DataRow:               'D' len  Int16 ncols, then per column
//!                                   Int32 len (-1 = NULL) + bytes
//! ```
//!
//! The type byte is judged as soon as it arrives and the length as soon as
//! its four bytes do, against the type's limit (1 GiB - 2 for Query, Parse,
//! Bind, CopyData and FunctionCall, 65535 for password/SASL messages, 10000
//! for everything else), before any body is awaited; so garbage or a lying
//! length is refused at once instead of the server waiting for, or
//! allocating, what it announces.

mod backend;
mod conn;
mod frontend;

use std::fmt;
use std::io;

use tusk_common::sqlstate::PROTOCOL_VIOLATION;
use tusk_common::PgError;

pub use backend::{FieldDesc, TxStatus};
pub use conn::{Conn, FLUSH_THRESHOLD};
pub use frontend::{
    function_call_oid, parse_password, parse_sasl_initial_response, FrontendMessage,
    SaslInitialResponse, StartupRequest, Target, CANCEL_REQUEST_CODE, CHARACTER_NOT_IN_REPERTOIRE,
    GSSENC_REQUEST_CODE, MAX_STARTUP_PACKET_LENGTH, PG_MAX_AUTH_TOKEN_LENGTH,
    PQ_LARGE_MESSAGE_LIMIT, PQ_SMALL_MESSAGE_LIMIT, PROTOCOL_3_0, SSL_REQUEST_CODE,
};

/// Why reading from the client did not produce a message.
///
/// The variants follow how PostgreSQL 15 reacts, which depends on whether
/// the message boundaries can still be trusted: a bad length or a
/// connection cut mid-message loses them (`Lost`: logged, nothing sent,
/// connection closed), a type byte no client may send is answered with a
/// FATAL (`Protocol`), and anything wrong *inside* a well-framed message
/// is an ordinary ERROR after which the session goes on (`Malformed`,
/// `Encoding`).
#[derive(Debug)]
pub enum WireError {
    /// The client closed the connection cleanly between packets. Before
    /// startup this is a health check or port scan: say nothing.
    Eof,
    /// The stream's `read` failed. `Interrupted` (or `WouldBlock`) means a
    /// signal or timeout wants attention: service it and call again; the
    /// partial message is kept.
    Io(io::Error),
    /// The framing is gone (a declared length out of range, the connection
    /// closed inside a packet). PostgreSQL logs this (COMMERROR) and closes
    /// the connection without a word to the client, which could not parse
    /// an answer anyway; the caller does the same.
    Lost(String),
    /// The client sent a message type no client may send: FATAL 08P01 to
    /// the client, then close, as PostgreSQL does.
    Protocol(String),
    /// A well-framed message whose body does not parse (a missing NUL,
    /// bytes left over, a count larger than the data, an unknown
    /// Describe/Close subtype). The message has been consumed, so this is
    /// ERROR 08P01 and the session and its transaction go on.
    Malformed(String),
    /// A string in an otherwise well-formed message is not valid UTF-8. The
    /// message has been consumed, so this is an ERROR (22021) and the
    /// session continues.
    Encoding(String),
}

impl WireError {
    /// The report to send to the client, if any: `Protocol` is FATAL 08P01,
    /// `Malformed` ERROR 08P01, `Encoding` ERROR 22021; `Lost`, `Eof` and
    /// `Io` have nobody to tell (PostgreSQL stays silent on a lost framing,
    /// the connection is gone, or the caller is to retry).
    pub fn to_pg_error(&self) -> Option<PgError> {
        match self {
            WireError::Protocol(m) => Some(PgError::fatal(PROTOCOL_VIOLATION, m.clone())),
            WireError::Malformed(m) => Some(PgError::error(PROTOCOL_VIOLATION, m.clone())),
            WireError::Encoding(m) => Some(PgError::error(CHARACTER_NOT_IN_REPERTOIRE, m.clone())),
            WireError::Lost(_) | WireError::Eof | WireError::Io(_) => None,
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Eof => f.write_str("unexpected EOF on client connection"),
            WireError::Io(e) => write!(f, "could not receive data from client: {e}"),
            WireError::Lost(m)
            | WireError::Protocol(m)
            | WireError::Malformed(m)
            | WireError::Encoding(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for WireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WireError::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
