//! One client connection: the stream, the bytes received but not yet
//! decoded, and the bytes encoded but not yet sent.
//!
//! Why reads are built this way: a backend blocks in `read()` while the
//! client is idle, and a signal (cancel, terminate, postmaster death) makes
//! the backend's stream return an `io::Error` (usually `Interrupted`) so the
//! backend can act on it. Any read can therefore stop halfway through a
//! message. Every byte read goes into `inbuf` first and a message is taken
//! out only once it is complete, so returning an error never loses data and
//! the next call simply continues. For the same reason nothing here uses
//! `read_exact` (it retries `Interrupted` itself, hiding the signal, and
//! loses partial data on other errors).
//!
//! The declared length of a message is checked against its type's limit
//! before the body is waited for, and the buffer only grows as bytes
//! actually arrive (in bounded chunks): a client claiming a 1 GiB message
//! costs nothing until it sends 1 GiB. Output works the same way in reverse:
//! messages are appended to `outbuf` and only `flush` writes; an interrupted
//! write keeps what was not sent.

use std::io::{self, Read, Write};

use bytes::{Buf, BytesMut};

use crate::frontend::{self, FrontendMessage, StartupRequest, MAX_STARTUP_PACKET_LENGTH};
use crate::WireError;

/// Smallest read we ask the kernel for; also the initial buffer size.
const READ_CHUNK: usize = 8192;
/// Largest single read when a big message is arriving: large enough to keep
/// syscalls few, small enough that a lying length word cannot make us
/// allocate much ahead of the data.
const MAX_READ_CHUNK: usize = 256 * 1024;
/// A buffer that grew past this for one large message is given back to the
/// allocator once it is empty again, so one 100 MB COPY row or query does
/// not pin 100 MB for the rest of the session.
const KEEP_CAPACITY: usize = 1024 * 1024;
/// Suggested point at which callers should flush during long results (see
/// [`Conn::should_flush`]).
pub const FLUSH_THRESHOLD: usize = 64 * 1024;

/// A PostgreSQL v3 protocol connection over a blocking stream.
pub struct Conn<S: Read + Write> {
    pub(crate) stream: S,
    pub(crate) inbuf: BytesMut,
    pub(crate) outbuf: BytesMut,
    /// A message that could not be encoded (a length that does not fit the
    /// protocol's Int32/Int16 fields). The output methods cannot return an
    /// error, so the failure is kept here and reported by the next `flush`;
    /// after that the output stays closed (see `output_closed`).
    pub(crate) encode_error: Option<String>,
    /// Set by an encode failure, never cleared: the FATAL report queued in
    /// place of the failed message is the session's last, so output
    /// methods append nothing afterwards (not even a FATAL of the caller's
    /// about the failed flush, which would repeat the report).
    pub(crate) output_closed: bool,
    /// Type byte of the last whole message taken from the input, decoded
    /// or not: after a decoding error the caller needs to know whether it
    /// was a simple Query (answer with ReadyForQuery) or an extended-query
    /// message (skip to Sync).
    pub(crate) last_type: u8,
    /// client_min_messages: notices below this level are not sent (INFO
    /// always is, as in PostgreSQL).
    pub(crate) min_notice: tusk_common::Severity,
}

impl<S: Read + Write> Conn<S> {
    pub fn new(stream: S) -> Self {
        Conn {
            stream,
            inbuf: BytesMut::with_capacity(READ_CHUNK),
            outbuf: BytesMut::with_capacity(READ_CHUNK),
            encode_error: None,
            output_closed: false,
            last_type: 0,
            min_notice: tusk_common::Severity::Notice,
        }
    }

    /// Type byte of the last whole message read (0 before the first).
    pub fn last_message_type(&self) -> u8 {
        self.last_type
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Whether the client has sent bytes that have not been decoded yet.
    /// Right after answering an SSLRequest or GSSENCRequest this must be
    /// false: anything already buffered was sent before the encryption
    /// handshake, which PostgreSQL refuses with FATAL 08P01 "received
    /// unencrypted data after SSL request" (or "... after GSSAPI encryption
    /// request"), detail "This could be either a client-software bug or
    /// evidence of an attempted man-in-the-middle attack.".
    pub fn has_buffered_input(&self) -> bool {
        !self.inbuf.is_empty()
    }

    /// Bytes waiting in the output buffer.
    pub fn pending_output(&self) -> usize {
        self.outbuf.len()
    }

    /// True when enough output has accumulated that the caller should
    /// `flush` before producing more (PostgreSQL sends whenever its 8 KiB
    /// buffer fills; without this a big SELECT would be held in memory).
    /// Also true once a message has failed to encode, so that the caller
    /// learns of it from `flush` now rather than after producing more.
    pub fn should_flush(&self) -> bool {
        self.outbuf.len() >= FLUSH_THRESHOLD || self.encode_error.is_some()
    }

    /// Read the first packet of a connection (and, after a refused
    /// SSLRequest/GSSENCRequest, the next one).
    ///
    /// Errors: `Eof` if the client closed without sending a byte (health
    /// checks, port scanners; PostgreSQL stays silent); `Lost` for a bad
    /// length ("invalid length of startup packet", also a CancelRequest of
    /// the wrong size) or a connection closed mid-packet ("incomplete
    /// startup packet"), which PostgreSQL only logs; `Protocol` for a bad
    /// parameter list (FATAL to the client); `Io` when the stream's read failed (e.g. `Interrupted` by a signal),
    /// after which calling again continues the same packet.
    pub fn read_startup(&mut self) -> Result<StartupRequest, WireError> {
        loop {
            let need = match self.startup_packet_len()? {
                Some(total) if self.inbuf.len() >= total => {
                    let result = frontend::decode_startup(&self.inbuf[4..total]);
                    self.consume(total);
                    return result;
                }
                Some(total) => total - self.inbuf.len(),
                None => 4 - self.inbuf.len(),
            };
            match self.read_more(need) {
                Ok(0) if self.inbuf.is_empty() => return Err(WireError::Eof),
                Ok(0) => return Err(WireError::Lost("incomplete startup packet".into())),
                Ok(_) => {}
                Err(e) => return Err(WireError::Io(e)),
            }
        }
    }

    /// The whole packet's size once its length word is here and valid.
    fn startup_packet_len(&self) -> Result<Option<usize>, WireError> {
        let Some(word) = self.inbuf.get(..4) else {
            return Ok(None);
        };
        let declared = i32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        // The body after the length word must hold at least the version
        // code and at most MAX_STARTUP_PACKET_LENGTH bytes.
        match usize::try_from(declared) {
            Ok(len) if (8..=4 + MAX_STARTUP_PACKET_LENGTH).contains(&len) => Ok(Some(len)),
            _ => Err(WireError::Lost("invalid length of startup packet".into())),
        }
    }

    /// Read one complete message after the startup phase.
    ///
    /// Errors: `Eof` if the client closed the connection between messages;
    /// `Protocol` for an unknown type byte; `Lost` for a declared length
    /// under 4 or over the type's limit, or a connection closed
    /// mid-message; `Malformed` for a body that does not parse and
    /// `Encoding` for a string that is not UTF-8 (in both the message has
    /// been consumed and the session can go on after an ERROR); `Io` when
    /// the stream's read failed, after which calling again continues the
    /// same message with nothing lost.
    pub fn read_message(&mut self) -> Result<FrontendMessage, WireError> {
        loop {
            let need = match self.message_len()? {
                Some(total) if self.inbuf.len() >= total => {
                    self.last_type = self.inbuf[0];
                    let result = frontend::decode_message(self.inbuf[0], &self.inbuf[5..total]);
                    self.consume(total);
                    return result;
                }
                Some(total) => total - self.inbuf.len(),
                None => 5 - self.inbuf.len(),
            };
            match self.read_more(need) {
                Ok(0) if self.inbuf.is_empty() => return Err(WireError::Eof),
                Ok(0) if self.inbuf.len() < 5 => {
                    return Err(WireError::Lost(
                        "unexpected EOF within message length word".into(),
                    ))
                }
                Ok(0) => return Err(WireError::Lost("incomplete message from client".into())),
                Ok(_) => {}
                Err(e) => return Err(WireError::Io(e)),
            }
        }
    }

    /// The whole message's size (type byte included) once its header is
    /// here; the type is judged as soon as its byte arrives.
    fn message_len(&self) -> Result<Option<usize>, WireError> {
        let Some(&ty) = self.inbuf.first() else {
            return Ok(None);
        };
        let Some(limit) = frontend::message_limit(ty) else {
            return Err(WireError::Protocol(format!(
                "invalid frontend message type {ty}"
            )));
        };
        let Some(word) = self.inbuf.get(1..5) else {
            return Ok(None);
        };
        let declared = i32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        match usize::try_from(declared) {
            Ok(len) if (4..=limit).contains(&len) => Ok(Some(1 + len)),
            _ => Err(WireError::Lost("invalid message length".into())),
        }
    }

    /// Drop a decoded message from the front of the input buffer.
    fn consume(&mut self, n: usize) {
        self.inbuf.advance(n);
        if self.inbuf.is_empty() && self.inbuf.capacity() > KEEP_CAPACITY {
            self.inbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }

    /// One `read()` into the input buffer, asking for about `need` more
    /// bytes (more are welcome: they stay buffered for the next message).
    /// Returns 0 at end of stream. On error the buffer is as it was.
    fn read_more(&mut self, need: usize) -> io::Result<usize> {
        let chunk = need.clamp(READ_CHUNK, MAX_READ_CHUNK);
        let start = self.inbuf.len();
        self.inbuf.resize(start + chunk, 0);
        let result = self.stream.read(&mut self.inbuf[start..]);
        // A misbehaving Read impl could claim more than it was given.
        let got = match &result {
            Ok(n) => (*n).min(chunk),
            Err(_) => 0,
        };
        self.inbuf.truncate(start + got);
        result.map(|_| got)
    }

    /// Write everything in the output buffer, then flush the stream.
    ///
    /// If the write is interrupted (`Interrupted`, `WouldBlock`, ...) the
    /// error is returned and the unsent bytes stay buffered; calling again
    /// resumes. A message that could not be encoded is reported here, after
    /// the messages before it have been sent, as `InvalidData`.
    pub fn flush(&mut self) -> io::Result<()> {
        while !self.outbuf.is_empty() {
            match self.stream.write(&self.outbuf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!(
                            "could not send data to client: the connection accepted none of \
                             {} pending bytes",
                            self.outbuf.len()
                        ),
                    ))
                }
                Ok(n) => self.outbuf.advance(n.min(self.outbuf.len())),
                Err(e) => return Err(e),
            }
        }
        if self.outbuf.capacity() > KEEP_CAPACITY {
            self.outbuf = BytesMut::with_capacity(READ_CHUNK);
        }
        self.stream.flush()?;
        match self.encode_error.take() {
            Some(msg) => Err(io::Error::new(io::ErrorKind::InvalidData, msg)),
            None => Ok(()),
        }
    }
}
