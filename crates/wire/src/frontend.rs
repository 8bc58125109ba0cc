//! Decoding what a client sends: the pre-startup packets and the typed
//! messages that follow, from complete byte slices into our own enums.
//!
//! Why by hand and not with pgwire's decoders: pgwire 0.42's frontend
//! `decode_body` implementations are written for trusted input. They read
//! with `Buf::get_u16`/`get_i32`/`split_to`, which *panic* on a truncated
//! body (a panic is an abort of the backend here, and a crash-restart of the
//! whole server); they read past the end of the message into the next one
//! because the body is not bounded by the declared length; they decode
//! strings with `String::from_utf8_lossy` (query text would be silently
//! altered instead of refused with 22021); they map a missing NUL to an empty
//! string, and `Startup` refuses any major version other than 3 instead of
//! letting us answer with PostgreSQL's own message. The protocol's frontend
//! side is small, so each message is decoded here with the same checks, in
//! the same order and with the same messages as PostgreSQL's `pq_getmsg*`
//! functions (`src/backend/libpq/pqformat.c`) and their callers in
//! `postgres.c`. Everything here works on a slice that holds exactly one
//! message body, so no check can be skipped by reading into a neighbour.

use crate::WireError;
use pgwire::messages::startup::{GssEncRequest, SslRequest};

/// The only protocol version tusk speaks, as the Int32 a client sends:
/// major 3 in the high 16 bits, minor 0 in the low ones (196608). This is
/// also the value PostgreSQL 15 puts in NegotiateProtocolVersion.
pub const PROTOCOL_3_0: i32 = 3 << 16;

/// CancelRequest code: major 1234, minor 5678 (80877102).
pub const CANCEL_REQUEST_CODE: i32 = (1234 << 16) | 5678;
/// SSLRequest code: major 1234, minor 5679 (80877103).
pub const SSL_REQUEST_CODE: i32 = SslRequest::BODY_MAGIC_NUMBER;
/// GSSENCRequest code: major 1234, minor 5680 (80877104).
pub const GSSENC_REQUEST_CODE: i32 = GssEncRequest::BODY_MAGIC_NUMBER;

/// Largest pre-startup packet body (after the length word), as
/// `MAX_STARTUP_PACKET_LENGTH` in `pqcomm.h`.
pub const MAX_STARTUP_PACKET_LENGTH: usize = 10000;
/// Limit on the declared length of most messages (`PQ_SMALL_MESSAGE_LIMIT`).
pub const PQ_SMALL_MESSAGE_LIMIT: usize = 10000;
/// Limit for messages that carry SQL text or data (`PQ_LARGE_MESSAGE_LIMIT`
/// = `MaxAllocSize - 1`, i.e. 1 GiB minus 2 bytes).
pub const PQ_LARGE_MESSAGE_LIMIT: usize = 0x3fff_ffff - 1;
/// Limit for password and SASL messages (`PG_MAX_AUTH_TOKEN_LENGTH` in
/// `auth.c`): nothing legitimate comes close, and the client is not yet
/// authenticated, so it gets no more room than that.
pub const PG_MAX_AUTH_TOKEN_LENGTH: usize = 65535;

/// SQLSTATE 22021 character_not_in_repertoire, the code PostgreSQL uses for
/// invalid UTF-8 (re-exported for the callers that named it here).
pub use tusk_common::sqlstate::CHARACTER_NOT_IN_REPERTOIRE;

/// The first packet of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupRequest {
    /// SSLRequest: answer with one byte, `S` or `N`, then read again.
    Ssl,
    /// GSSENCRequest: answer with `G` or `N`, then read again.
    GssEnc,
    /// CancelRequest: cancel the query of backend `pid` if `key` matches;
    /// nothing is sent back and the connection is closed.
    Cancel { pid: i32, key: i32 },
    /// StartupMessage. When `major != 3` the parameters are not parsed (they
    /// may not even be in this layout) and `params` is empty: the caller
    /// refuses with FATAL 0A000 `unsupported frontend protocol 2.0: server
    /// supports 3.0 to 3.0`. Parameters keep the client's order.
    Startup {
        major: u16,
        minor: u16,
        params: Vec<(String, String)>,
    },
}

/// What Describe and Close refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `S`: a prepared statement.
    Statement,
    /// `P`: a portal.
    Portal,
}

/// A message from the client after the startup packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrontendMessage {
    /// `Q`: simple query; may hold several statements.
    Query(String),
    /// `P`: prepare `query` as statement `name` ("" = unnamed); a type OID
    /// of 0 means "infer it".
    Parse {
        name: String,
        query: String,
        param_types: Vec<u32>,
    },
    /// `B`: bind parameters to a statement, creating a portal.
    /// `param_formats` has 0 entries (all text), 1 (applies to all) or one
    /// per parameter; decoding already refused any other count. Format code
    /// values are not checked here: PostgreSQL refuses them later with
    /// 22023 `unsupported format code: %d`.
    Bind {
        portal: String,
        statement: String,
        param_formats: Vec<i16>,
        params: Vec<Option<Vec<u8>>>,
        result_formats: Vec<i16>,
    },
    /// `D`: describe a statement or portal.
    Describe { kind: Target, name: String },
    /// `E`: run a portal; `max_rows <= 0` means all rows.
    Execute { portal: String, max_rows: i32 },
    /// `C`: close a statement or portal.
    Close { kind: Target, name: String },
    /// `S`
    Sync,
    /// `H`
    Flush,
    /// `X`
    Terminate,
    /// `d`: raw COPY data.
    CopyData(Vec<u8>),
    /// `c`
    CopyDone,
    /// `f`: the client's reason for aborting COPY FROM STDIN.
    CopyFail(String),
    /// `p`: PasswordMessage, SASLInitialResponse or SASLResponse. They share
    /// one type byte and only the authentication state tells them apart, so
    /// the raw body is handed over; see [`parse_password`] and
    /// [`parse_sasl_initial_response`].
    Password(Vec<u8>),
    /// `F`: fast-path function call, its body undecoded; see
    /// [`function_call_oid`].
    FunctionCall(Vec<u8>),
}

impl FrontendMessage {
    /// The message's type byte, e.g. for "unexpected message type 0x%02X
    /// during COPY from stdin".
    pub fn type_byte(&self) -> u8 {
        match self {
            FrontendMessage::Query(_) => b'Q',
            FrontendMessage::Parse { .. } => b'P',
            FrontendMessage::Bind { .. } => b'B',
            FrontendMessage::Describe { .. } => b'D',
            FrontendMessage::Execute { .. } => b'E',
            FrontendMessage::Close { .. } => b'C',
            FrontendMessage::Sync => b'S',
            FrontendMessage::Flush => b'H',
            FrontendMessage::Terminate => b'X',
            FrontendMessage::CopyData(_) => b'd',
            FrontendMessage::CopyDone => b'c',
            FrontendMessage::CopyFail(_) => b'f',
            FrontendMessage::Password(_) => b'p',
            FrontendMessage::FunctionCall(_) => b'F',
        }
    }
}

/// The limit on the declared length (which counts itself) for a message
/// type, or `None` for a type byte no client may send. Checked as soon as
/// the type byte arrives, before the length is even read, so that a client
/// that has lost sync gets "invalid frontend message type" instead of the
/// server waiting for (or allocating) a length made of garbage.
pub(crate) fn message_limit(ty: u8) -> Option<usize> {
    match ty {
        b'Q' | b'F' | b'P' | b'B' | b'd' => Some(PQ_LARGE_MESSAGE_LIMIT),
        b'C' | b'D' | b'E' | b'H' | b'S' | b'X' | b'c' | b'f' => Some(PQ_SMALL_MESSAGE_LIMIT),
        b'p' => Some(PG_MAX_AUTH_TOKEN_LENGTH),
        _ => None,
    }
}

/// Decode one pre-startup packet body: everything after the length word.
/// The caller has checked `4 <= body.len() <= MAX_STARTUP_PACKET_LENGTH`.
pub(crate) fn decode_startup(body: &[u8]) -> Result<StartupRequest, WireError> {
    let mut r = Reader::new(body);
    let code = r.i32()?;
    match code {
        CANCEL_REQUEST_CODE => {
            // PostgreSQL checks the whole packet size, not just that the two
            // fields are present: anything else is not a cancel request.
            if body.len() != 12 {
                return Err(WireError::Lost("invalid length of startup packet".into()));
            }
            let pid = r.i32()?;
            let key = r.i32()?;
            Ok(StartupRequest::Cancel { pid, key })
        }
        SSL_REQUEST_CODE => Ok(StartupRequest::Ssl),
        GSSENC_REQUEST_CODE => Ok(StartupRequest::GssEnc),
        _ => {
            let major = (code as u32 >> 16) as u16;
            let minor = (code as u32 & 0xffff) as u16;
            if major != 3 {
                return Ok(StartupRequest::Startup {
                    major,
                    minor,
                    params: Vec::new(),
                });
            }
            let params = decode_startup_params(&body[4..])?;
            Ok(StartupRequest::Startup {
                major,
                minor,
                params,
            })
        }
    }
}

/// `name\0value\0 ... \0`, where the final lone NUL must be the last byte.
fn decode_startup_params(mut rest: &[u8]) -> Result<Vec<(String, String)>, WireError> {
    let layout = || {
        WireError::Protocol(
            "invalid startup packet layout: expected terminator as last byte".into(),
        )
    };
    let mut params = Vec::new();
    loop {
        match rest {
            [] => return Err(layout()),
            [0] => return Ok(params),
            [0, ..] => return Err(layout()),
            _ => {}
        }
        let name_end = rest.iter().position(|&b| b == 0).ok_or_else(layout)?;
        let after_name = &rest[name_end + 1..];
        let value_end = after_name.iter().position(|&b| b == 0).ok_or_else(layout)?;
        let name = startup_string(&rest[..name_end])?;
        let value = startup_string(&after_name[..value_end])?;
        params.push((name, value));
        rest = &after_name[value_end + 1..];
    }
}

/// PostgreSQL stores startup values as raw bytes; tusk keeps them as
/// `String`, so a client that sends something other than UTF-8 (nobody we
/// know of does) is refused rather than having its user name silently
/// altered by a lossy conversion.
fn startup_string(bytes: &[u8]) -> Result<String, WireError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(WireError::Protocol(format!(
            "{} (in the startup packet)",
            invalid_utf8_message(bytes, e)
        ))),
    }
}

/// Decode the body of a message whose type byte passed [`message_limit`].
/// `body` excludes the type byte and the length word.
pub(crate) fn decode_message(ty: u8, body: &[u8]) -> Result<FrontendMessage, WireError> {
    let mut r = Reader::new(body);
    let msg = match ty {
        b'Q' => {
            let query = r.string()?;
            r.end()?;
            FrontendMessage::Query(query)
        }
        b'P' => {
            let name = r.string()?;
            let query = r.string()?;
            let n = r.u16()? as usize;
            let mut param_types = Vec::with_capacity(n.min(r.remaining() / 4));
            for _ in 0..n {
                param_types.push(r.i32()? as u32);
            }
            r.end()?;
            FrontendMessage::Parse {
                name,
                query,
                param_types,
            }
        }
        b'B' => decode_bind(&mut r)?,
        b'D' | b'C' => {
            let subtype = r.u8()?;
            let kind = match subtype {
                b'S' => Target::Statement,
                b'P' => Target::Portal,
                other => {
                    let what = if ty == b'D' { "DESCRIBE" } else { "CLOSE" };
                    return Err(WireError::Malformed(format!(
                        "invalid {what} message subtype {other}"
                    )));
                }
            };
            let name = r.string()?;
            r.end()?;
            if ty == b'D' {
                FrontendMessage::Describe { kind, name }
            } else {
                FrontendMessage::Close { kind, name }
            }
        }
        b'E' => {
            let portal = r.string()?;
            let max_rows = r.i32()?;
            r.end()?;
            FrontendMessage::Execute { portal, max_rows }
        }
        b'S' => {
            r.end()?;
            FrontendMessage::Sync
        }
        b'H' => {
            r.end()?;
            FrontendMessage::Flush
        }
        // PostgreSQL looks at neither body: Terminate exits at once, and
        // CopyDone's body is ignored by the COPY code.
        b'X' => FrontendMessage::Terminate,
        b'c' => FrontendMessage::CopyDone,
        b'd' => FrontendMessage::CopyData(body.to_vec()),
        // CopyFail reads one string and, like PostgreSQL, ignores the rest.
        b'f' => FrontendMessage::CopyFail(r.string()?),
        b'p' => FrontendMessage::Password(body.to_vec()),
        // PostgreSQL checks for an aborted transaction before it reads the
        // function's OID, so the body is decoded later by the caller (see
        // [`function_call_oid`]).
        b'F' => FrontendMessage::FunctionCall(body.to_vec()),
        other => {
            return Err(WireError::Protocol(format!(
                "invalid frontend message type {other}"
            )))
        }
    };
    Ok(msg)
}

fn decode_bind(r: &mut Reader<'_>) -> Result<FrontendMessage, WireError> {
    let portal = r.string()?;
    let statement = r.string()?;

    // Every count is bounded by what is left in the body before anything is
    // allocated, so a claimed 65535 parameters in a 20-byte message costs
    // nothing before it is refused.
    let nformats = r.u16()? as usize;
    let mut param_formats = Vec::with_capacity(nformats.min(r.remaining() / 2));
    for _ in 0..nformats {
        param_formats.push(r.i16()?);
    }

    let nparams = r.u16()? as usize;
    if nformats > 1 && nformats != nparams {
        return Err(WireError::Malformed(format!(
            "bind message has {nformats} parameter formats but {nparams} parameters"
        )));
    }
    let mut params = Vec::with_capacity(nparams.min(r.remaining() / 4));
    for _ in 0..nparams {
        let len = r.i32()?;
        if len == -1 {
            params.push(None);
        } else {
            // A negative length other than -1 is as impossible as one past
            // the end; PostgreSQL reports both the same way.
            let len = usize::try_from(len).map_err(|_| insufficient_data())?;
            params.push(Some(r.bytes(len)?.to_vec()));
        }
    }

    let nresults = r.u16()? as usize;
    let mut result_formats = Vec::with_capacity(nresults.min(r.remaining() / 2));
    for _ in 0..nresults {
        result_formats.push(r.i16()?);
    }
    r.end()?;

    Ok(FrontendMessage::Bind {
        portal,
        statement,
        param_formats,
        params,
        result_formats,
    })
}

/// The password of a PasswordMessage (cleartext or `md5...`), without its
/// NUL. As in PostgreSQL, the string must fill the message exactly.
pub fn parse_password(body: &[u8]) -> Result<&[u8], WireError> {
    match body.iter().position(|&b| b == 0) {
        Some(n) if n + 1 == body.len() => Ok(&body[..n]),
        _ => Err(WireError::Protocol("invalid password packet size".into())),
    }
}

/// A SASLInitialResponse: the mechanism the client chose and its first
/// message (`None` when the client sent length -1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaslInitialResponse<'a> {
    pub mechanism: &'a [u8],
    pub data: Option<&'a [u8]>,
}

/// Decode the body of a SASLInitialResponse. (A SASLResponse is just its
/// raw body and needs no decoding.)
pub fn parse_sasl_initial_response(body: &[u8]) -> Result<SaslInitialResponse<'_>, WireError> {
    let mut r = Reader::new(body);
    let mechanism = r.raw_cstr()?;
    let len = r.i32()?;
    let data = if len == -1 {
        None
    } else {
        let len = usize::try_from(len).map_err(|_| insufficient_data())?;
        Some(r.bytes(len)?)
    };
    r.end()?;
    Ok(SaslInitialResponse { mechanism, data })
}

/// The OID of the function a FunctionCall body calls: its first Int32
/// (the argument formats, arguments and result format follow; PostgreSQL
/// reads them only once the function is known to exist).
pub fn function_call_oid(body: &[u8]) -> Result<u32, WireError> {
    Ok(Reader::new(body).i32()? as u32)
}

fn insufficient_data() -> WireError {
    WireError::Malformed("insufficient data left in message".into())
}

/// PostgreSQL's report for a string that is not valid UTF-8: the bytes of
/// the first bad character (as many as its lead byte announces, at most 8,
/// never past the end), e.g. `invalid byte sequence for encoding "UTF8":
/// 0xc3 0x28`.
pub(crate) fn invalid_utf8_message(bytes: &[u8], err: std::str::Utf8Error) -> String {
    let bad = &bytes[err.valid_up_to()..];
    let announced = match bad.first() {
        Some(b) if b & 0x80 == 0 => 1,
        Some(b) if b & 0xe0 == 0xc0 => 2,
        Some(b) if b & 0xf0 == 0xe0 => 3,
        Some(b) if b & 0xf8 == 0xf0 => 4,
        _ => 1,
    };
    let shown: Vec<String> = bad
        .iter()
        .take(announced.min(8))
        .map(|b| format!("0x{b:02x}"))
        .collect();
    format!(
        "invalid byte sequence for encoding \"UTF8\": {}",
        shown.join(" ")
    )
}

/// A cursor over one message body with PostgreSQL's `pq_getmsg*` checks.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn bytes(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(insufficient_data());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn i16(&mut self) -> Result<i16, WireError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// A NUL-terminated string, without conversion (`pq_getmsgrawstring`).
    fn raw_cstr(&mut self) -> Result<&'a [u8], WireError> {
        let rest = &self.buf[self.pos..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None => Err(WireError::Malformed("invalid string in message".into())),
        }
    }

    /// A NUL-terminated string that must be valid UTF-8 (`pq_getmsgstring`,
    /// which converts from the client encoding and so verifies it). The
    /// string is consumed even when it is refused: the message boundary is
    /// intact and the session can go on after an ERROR.
    fn string(&mut self) -> Result<String, WireError> {
        let raw = self.raw_cstr()?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(WireError::Encoding(invalid_utf8_message(raw, e))),
        }
    }

    /// `pq_getmsgend`: the body must have been used up exactly.
    fn end(&self) -> Result<(), WireError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(WireError::Malformed("invalid message format".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of an error inside a well-framed message (ERROR 08P01).
    fn protocol_msg(r: Result<FrontendMessage, WireError>) -> String {
        match r {
            Err(WireError::Malformed(m)) => m,
            other => panic!("expected a malformed-message error, got {other:?}"),
        }
    }

    #[test]
    fn limits_match_postgres() {
        assert_eq!(message_limit(b'Q'), Some(1_073_741_822));
        assert_eq!(message_limit(b'S'), Some(10000));
        assert_eq!(message_limit(b'p'), Some(65535));
        assert_eq!(message_limit(b'Z'), None);
        assert_eq!(message_limit(0), None);
    }

    #[test]
    fn startup_params_in_order() {
        let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0bob\0database\0db\0application_name\0\0\0");
        let got = decode_startup(&body).unwrap();
        assert_eq!(
            got,
            StartupRequest::Startup {
                major: 3,
                minor: 0,
                params: vec![
                    ("user".into(), "bob".into()),
                    ("database".into(), "db".into()),
                    ("application_name".into(), "".into()),
                ]
            }
        );
    }

    #[test]
    fn startup_layout_errors() {
        let layout = "invalid startup packet layout: expected terminator as last byte";
        for tail in [
            &b""[..],           // no terminator at all
            b"user\0bob\0",     // pairs but no final NUL
            b"user\0bob",       // value without NUL
            b"user\0bob\0\0\0", // bytes after the terminator
            b"user",            // name without NUL
            b"user\0bob\0X",    // PostgreSQL lets this slip; we do not
        ] {
            let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
            body.extend_from_slice(tail);
            match decode_startup(&body) {
                Err(WireError::Protocol(m)) => assert_eq!(m, layout, "tail {tail:?}"),
                other => panic!("tail {tail:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn startup_non_utf8_is_refused() {
        let mut body = PROTOCOL_3_0.to_be_bytes().to_vec();
        body.extend_from_slice(b"user\0b\xffb\0\0");
        match decode_startup(&body) {
            Err(WireError::Protocol(m)) => {
                assert!(
                    m.starts_with("invalid byte sequence for encoding \"UTF8\": 0xff"),
                    "{m}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cancel_needs_exact_length() {
        let mut body = CANCEL_REQUEST_CODE.to_be_bytes().to_vec();
        body.extend_from_slice(&7i32.to_be_bytes());
        body.extend_from_slice(&(-9i32).to_be_bytes());
        assert_eq!(
            decode_startup(&body).unwrap(),
            StartupRequest::Cancel { pid: 7, key: -9 }
        );
        body.push(0);
        match decode_startup(&body) {
            Err(WireError::Lost(m)) => assert_eq!(m, "invalid length of startup packet"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn utf8_message_shows_the_bad_character() {
        let check = |bytes: &[u8], want: &str| {
            let e = std::str::from_utf8(bytes).unwrap_err();
            assert_eq!(invalid_utf8_message(bytes, e), want);
        };
        check(
            b"ab\xc3\x28",
            "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28",
        );
        check(b"\xff", "invalid byte sequence for encoding \"UTF8\": 0xff");
        // Lead byte of a 3-byte character cut short by the end of the string.
        check(
            b"x\xe2\x82",
            "invalid byte sequence for encoding \"UTF8\": 0xe2 0x82",
        );
        // A surrogate (ED A0 80) is invalid in PostgreSQL too.
        check(
            b"\xed\xa0\x80",
            "invalid byte sequence for encoding \"UTF8\": 0xed 0xa0 0x80",
        );
    }

    #[test]
    fn query_body_errors() {
        assert_eq!(
            protocol_msg(decode_message(b'Q', b"select 1")),
            "invalid string in message"
        );
        assert_eq!(
            protocol_msg(decode_message(b'Q', b"select 1\0x")),
            "invalid message format"
        );
        assert_eq!(
            protocol_msg(decode_message(b'S', b"x")),
            "invalid message format"
        );
        assert_eq!(
            protocol_msg(decode_message(b'H', b"x")),
            "invalid message format"
        );
        match decode_message(b'Q', b"select '\xc3\x28'\0") {
            Err(WireError::Encoding(m)) => {
                assert_eq!(m, "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parse_body_errors() {
        // Claims 3 parameter types but carries one.
        let mut b = b"s1\0select $1\0".to_vec();
        b.extend_from_slice(&3u16.to_be_bytes());
        b.extend_from_slice(&23u32.to_be_bytes());
        assert_eq!(
            protocol_msg(decode_message(b'P', &b)),
            "insufficient data left in message"
        );
        // Count missing entirely.
        assert_eq!(
            protocol_msg(decode_message(b'P', b"s1\0select 1\0")),
            "insufficient data left in message"
        );
        // Query string without its NUL.
        assert_eq!(
            protocol_msg(decode_message(b'P', b"s1\0select 1")),
            "invalid string in message"
        );
    }

    fn bind_body(nformats: u16, formats: &[i16], params: &[Option<&[u8]>]) -> Vec<u8> {
        let mut b = b"\0stmt\0".to_vec();
        b.extend_from_slice(&nformats.to_be_bytes());
        for f in formats {
            b.extend_from_slice(&f.to_be_bytes());
        }
        b.extend_from_slice(&(params.len() as u16).to_be_bytes());
        for p in params {
            match p {
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
        b.extend_from_slice(&0u16.to_be_bytes());
        b
    }

    #[test]
    fn bind_body_errors() {
        let two: [Option<&[u8]>; 2] = [Some(b"1"), None];
        let ok = bind_body(2, &[0, 1], &two);
        assert!(matches!(
            decode_message(b'B', &ok),
            Ok(FrontendMessage::Bind { .. })
        ));
        // One format code applies to all parameters: fine.
        assert!(decode_message(b'B', &bind_body(1, &[1], &two)).is_ok());
        // Three format codes for two parameters.
        assert_eq!(
            protocol_msg(decode_message(b'B', &bind_body(3, &[0, 0, 0], &two))),
            "bind message has 3 parameter formats but 2 parameters"
        );
        // A parameter length past the end of the message.
        let mut b = b"\0\0".to_vec();
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&1000i32.to_be_bytes());
        b.extend_from_slice(b"abc");
        assert_eq!(
            protocol_msg(decode_message(b'B', &b)),
            "insufficient data left in message"
        );
        // A negative length other than -1.
        let mut b = b"\0\0".to_vec();
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&1u16.to_be_bytes());
        b.extend_from_slice(&(-2i32).to_be_bytes());
        b.extend_from_slice(&0u16.to_be_bytes());
        assert_eq!(
            protocol_msg(decode_message(b'B', &b)),
            "insufficient data left in message"
        );
        // Many claimed parameters, no data: refused, nothing huge allocated.
        let mut b = b"\0\0".to_vec();
        b.extend_from_slice(&0u16.to_be_bytes());
        b.extend_from_slice(&u16::MAX.to_be_bytes());
        assert_eq!(
            protocol_msg(decode_message(b'B', &b)),
            "insufficient data left in message"
        );
        // Trailing garbage after the result formats.
        let mut b = ok.clone();
        b.push(0);
        assert_eq!(
            protocol_msg(decode_message(b'B', &b)),
            "invalid message format"
        );
    }

    #[test]
    fn describe_close_subtypes() {
        assert_eq!(
            decode_message(b'D', b"S\0").unwrap(),
            FrontendMessage::Describe {
                kind: Target::Statement,
                name: String::new()
            }
        );
        assert_eq!(
            decode_message(b'C', b"Pc1\0").unwrap(),
            FrontendMessage::Close {
                kind: Target::Portal,
                name: "c1".into()
            }
        );
        assert_eq!(
            protocol_msg(decode_message(b'D', b"X\0")),
            "invalid DESCRIBE message subtype 88"
        );
        assert_eq!(
            protocol_msg(decode_message(b'C', b"Q\0")),
            "invalid CLOSE message subtype 81"
        );
        assert_eq!(
            protocol_msg(decode_message(b'D', b"")),
            "insufficient data left in message"
        );
    }

    #[test]
    fn function_call_body() {
        let body = b"\0\0\x04\xd2\0\0\0\0\0\0";
        assert_eq!(
            decode_message(b'F', body).unwrap(),
            FrontendMessage::FunctionCall(body.to_vec())
        );
        assert_eq!(function_call_oid(body).unwrap(), 1234);
        // A body too short for the OID is a protocol ERROR, not a FATAL.
        match function_call_oid(b"\0\0") {
            Err(WireError::Malformed(m)) => assert_eq!(m, "insufficient data left in message"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn password_helpers() {
        assert_eq!(parse_password(b"secret\0").unwrap(), b"secret");
        assert!(parse_password(b"secret").is_err());
        assert!(parse_password(b"sec\0ret\0").is_err());

        let mut b = b"SCRAM-SHA-256\0".to_vec();
        b.extend_from_slice(&5i32.to_be_bytes());
        b.extend_from_slice(b"n,,n=");
        let r = parse_sasl_initial_response(&b).unwrap();
        assert_eq!(r.mechanism, b"SCRAM-SHA-256");
        assert_eq!(r.data, Some(&b"n,,n="[..]));

        let mut b = b"SCRAM-SHA-256\0".to_vec();
        b.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(parse_sasl_initial_response(&b).unwrap().data, None);

        let mut b = b"SCRAM-SHA-256\0".to_vec();
        b.extend_from_slice(&50i32.to_be_bytes());
        b.extend_from_slice(b"short");
        assert!(matches!(
            parse_sasl_initial_response(&b),
            Err(WireError::Malformed(_))
        ));
    }
}
