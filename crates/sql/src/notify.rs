//! LISTEN / NOTIFY / UNLISTEN and pg_notify: the checks PostgreSQL's
//! Async_Notify makes on a notification, and the statements' binding.
//!
//! Why so little here: queueing, delivery and the listener registry are
//! the session's and shared memory's (the server's notify queue); what a
//! statement needs is its channel and payload checked exactly as
//! PostgreSQL checks them, before anything is queued.

use tusk_common::{sqlstate, PgError};

/// PostgreSQL's NAMEDATALEN: a channel name has at most 63 bytes.
pub const NAMEDATALEN: usize = 64;

/// PostgreSQL's NOTIFY_PAYLOAD_MAX_LENGTH (BLCKSZ - NAMEDATALEN - 128).
pub const PAYLOAD_MAX: usize = 8000;

/// A channel named by an identifier in LISTEN/UNLISTEN/NOTIFY: folded
/// as identifiers are, and cut to 63 bytes (on a character boundary) as
/// PostgreSQL's scanner cuts every identifier (its NOTICE saying so is
/// not sent: tusk's parser does not truncate identifiers yet).
pub(crate) fn channel_name(i: &sqlparser::ast::Ident) -> String {
    let mut name = crate::bind::ident_name(i);
    let mut end = name.len().min(NAMEDATALEN - 1);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.truncate(end);
    name
}

/// Checks a notification as Async_Notify does (22023 for each failure);
/// a NULL channel (pg_notify(NULL, ...)) is an empty one.
pub fn check(channel: &str, payload: &str) -> Result<(), PgError> {
    let bad = |m: &str| Err(PgError::error(sqlstate::INVALID_PARAMETER_VALUE, m));
    if channel.is_empty() {
        return bad("channel name cannot be empty");
    }
    if channel.len() >= NAMEDATALEN {
        return bad("channel name too long");
    }
    if payload.len() >= PAYLOAD_MAX {
        return bad("payload string too long");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_as_postgresql() {
        assert!(check("c", "").is_ok());
        assert!(check(&"c".repeat(63), &"p".repeat(7999)).is_ok());
        let msg = |c: &str, p: &str| check(c, p).unwrap_err().message;
        assert_eq!(msg("", "x"), "channel name cannot be empty");
        assert_eq!(msg(&"c".repeat(64), ""), "channel name too long");
        assert_eq!(msg("c", &"p".repeat(8000)), "payload string too long");
        assert_eq!(check("", "").unwrap_err().code, "22023");
    }
}
