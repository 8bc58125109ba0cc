//! Encoding what the server sends: every backend message is appended to the
//! connection's output buffer, and nothing reaches the client before
//! [`Conn::flush`].
//!
//! Why this way: pgwire's message structs and their `encode_body` are used
//! for everything except the two per-row messages, so the byte layout is its
//! codec's. We do not call pgwire's `Message::encode` wrapper, though: it
//! caps short messages at 30000 bytes (libpq's limit, which PostgreSQL does
//! not enforce when sending) and, when it refuses, leaves the type byte
//! already written in the buffer. Instead [`Conn::put`] writes the type
//! byte and a placeholder length, lets pgwire write the body, and patches
//! the length from what was actually written, so the length can never
//! disagree with the body.
//!
//! DataRow and CopyData are written directly: they are sent once per row,
//! and building pgwire's `DataRow` (an owned `BytesMut` per row) or
//! `CopyData` (an owned `Bytes`) would cost an allocation and a copy per
//! row for nothing.

use std::io::{Read, Write};

use bytes::{BufMut, Bytes};
use pgwire::messages::copy::{CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{FieldDescription, NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    BindComplete, CloseComplete, ParseComplete, PortalSuspended,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ErrorResponse, GssEncResponse, NoticeResponse,
    NotificationResponse, ReadyForQuery, SslResponse, TransactionStatus,
};
use pgwire::messages::startup::{
    Authentication, BackendKeyData, NegotiateProtocolVersion, ParameterStatus, SecretKey,
};
use pgwire::messages::Message;
use tusk_common::sqlstate::PROGRAM_LIMIT_EXCEEDED;
use tusk_common::PgError;

use crate::conn::Conn;

/// Transaction status reported in ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InBlock,
    /// `E`: in a failed transaction block (statements refused until the
    /// block ends).
    Failed,
}

/// One column of a RowDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDesc {
    pub name: String,
    /// OID of the table the column comes from, or 0.
    pub table_oid: u32,
    /// Attribute number of that column, or 0.
    pub column: i16,
    pub type_oid: u32,
    /// `pg_type.typlen`: -1 varlena, -2 cstring, else the fixed size.
    pub type_len: i16,
    /// Type modifier (`atttypmod`), -1 when none.
    pub type_mod: i32,
    /// 0 text, 1 binary. In a Describe(statement) reply this is always 0.
    pub format: i16,
}

/// A report's rank against client_min_messages, where LOG sits below
/// NOTICE and INFO always reaches the client.
fn client_rank(s: tusk_common::Severity) -> u8 {
    use tusk_common::Severity::*;
    match s {
        Debug => 0,
        Log => 1,
        Notice => 2,
        Warning => 3,
        Info | Error | Fatal | Panic => 4,
    }
}

impl<S: Read + Write> Conn<S> {
    /// Append one message whose body pgwire encodes; nothing once a
    /// message has failed to encode (see [`Conn::encode_failed`]).
    fn put<M: Message>(&mut self, msg: &M) {
        if !self.output_closed {
            self.put_always(msg);
        }
    }

    fn put_always<M: Message>(&mut self, msg: &M) {
        let start = self.outbuf.len();
        if let Some(ty) = M::message_type() {
            self.outbuf.put_u8(ty);
        }
        let len_at = self.outbuf.len();
        self.outbuf.put_i32(0);
        if let Err(e) = msg.encode_body(&mut self.outbuf) {
            self.outbuf.truncate(start);
            self.encode_failed(format!("could not encode a protocol message: {e}"));
            return;
        }
        let len = self.outbuf.len() - len_at;
        match i32::try_from(len) {
            Ok(l) => self.outbuf[len_at..len_at + 4].copy_from_slice(&l.to_be_bytes()),
            Err(_) => {
                self.outbuf.truncate(start);
                self.encode_failed(format!(
                    "could not send a protocol message of {len} bytes: the protocol allows at \
                     most {} bytes per message",
                    i32::MAX
                ));
            }
        }
    }

    /// A message could not be encoded (a row over the protocol's 2 GB, a
    /// count over Int16). Sending the messages after it would tell the
    /// client a lie: a SELECT whose row silently vanished, then
    /// CommandComplete and ReadyForQuery as if all were well. So the
    /// output stops here with a FATAL report that names what was too big,
    /// everything appended later is dropped, and the next `flush` sends
    /// what came before plus the report and then returns the error, upon
    /// which the backend ends the session (the caller cannot undo the
    /// half-sent result).
    fn encode_failed(&mut self, msg: String) {
        // Keep the first failure: later ones are usually its consequences.
        if self.output_closed {
            return;
        }
        self.output_closed = true;
        self.encode_error = Some(msg.clone());
        let report = PgError::fatal(PROGRAM_LIMIT_EXCEEDED, msg);
        // `put_always`: the message is short, and were it to fail the
        // failure is already recorded, so this cannot recurse.
        self.put_always(&ErrorResponse::new(report_fields(&report)));
    }

    /// A count that the protocol sends as Int16 (column counts).
    fn count_i16(&mut self, n: usize, what: &str) -> Option<i16> {
        match i16::try_from(n) {
            Ok(v) => Some(v),
            Err(_) => {
                self.encode_failed(format!(
                    "could not send {what} with {n} columns: the protocol allows at most {}",
                    i16::MAX
                ));
                None
            }
        }
    }

    /// Answer an SSLRequest with `N` (no TLS) and send it at once: the
    /// client waits for this single byte before it sends anything else.
    pub fn send_ssl_refusal(&mut self) -> std::io::Result<()> {
        // pgwire's Message::encode for SslResponse writes only the byte.
        SslResponse::Refuse
            .encode_body(&mut self.outbuf)
            .map_err(std::io::Error::other)?;
        self.flush()
    }

    /// Answer an SSLRequest with `S` (the TLS handshake follows) and send
    /// it at once.
    pub fn send_ssl_accept(&mut self) -> std::io::Result<()> {
        SslResponse::Accept
            .encode_body(&mut self.outbuf)
            .map_err(std::io::Error::other)?;
        self.flush()
    }

    /// Answer a GSSENCRequest with `N` and send it at once.
    pub fn send_gssenc_refusal(&mut self) -> std::io::Result<()> {
        GssEncResponse::Refuse
            .encode_body(&mut self.outbuf)
            .map_err(std::io::Error::other)?;
        self.flush()
    }

    /// AuthenticationOk (`R`, code 0).
    pub fn auth_ok(&mut self) {
        self.put(&Authentication::Ok);
    }

    /// AuthenticationCleartextPassword (`R`, code 3).
    pub fn auth_cleartext_password(&mut self) {
        self.put(&Authentication::CleartextPassword);
    }

    /// AuthenticationMD5Password (`R`, code 5) with its 4-byte salt.
    pub fn auth_md5_password(&mut self, salt: [u8; 4]) {
        self.put(&Authentication::MD5Password(salt.to_vec()));
    }

    /// AuthenticationSASL (`R`, code 10) listing the mechanisms offered.
    pub fn auth_sasl(&mut self, mechanisms: &[&str]) {
        self.put(&Authentication::SASL(
            mechanisms.iter().map(|m| cstr(m)).collect(),
        ));
    }

    /// AuthenticationSASLContinue (`R`, code 11).
    pub fn auth_sasl_continue(&mut self, data: &[u8]) {
        self.put(&Authentication::SASLContinue(Bytes::copy_from_slice(data)));
    }

    /// AuthenticationSASLFinal (`R`, code 12).
    pub fn auth_sasl_final(&mut self, data: &[u8]) {
        self.put(&Authentication::SASLFinal(Bytes::copy_from_slice(data)));
    }

    /// ParameterStatus (`S`).
    pub fn parameter_status(&mut self, name: &str, value: &str) {
        self.put(&ParameterStatus::new(cstr(name), cstr(value)));
    }

    /// BackendKeyData (`K`): the pid and 4-byte key a CancelRequest must
    /// quote (protocol 3.0).
    pub fn backend_key_data(&mut self, pid: i32, key: i32) {
        self.put(&BackendKeyData::new(pid, SecretKey::I32(key)));
    }

    /// NegotiateProtocolVersion (`v`). PostgreSQL 15 puts its whole latest
    /// version code in the first field (196608, i.e.
    /// [`crate::PROTOCOL_3_0`]), not just the minor number the
    /// documentation describes; pass that to match it.
    pub fn negotiate_protocol_version(&mut self, newest_minor: i32, unrecognized: &[String]) {
        let options = unrecognized.iter().map(|o| cstr(o)).collect();
        self.put(&NegotiateProtocolVersion::new(newest_minor, options));
    }

    /// ReadyForQuery (`Z`).
    pub fn ready_for_query(&mut self, status: TxStatus) {
        let status = match status {
            TxStatus::Idle => TransactionStatus::Idle,
            TxStatus::InBlock => TransactionStatus::Transaction,
            TxStatus::Failed => TransactionStatus::Error,
        };
        self.put(&ReadyForQuery::new(status));
    }

    /// RowDescription (`T`).
    pub fn row_description(&mut self, fields: &[FieldDesc]) {
        if self.count_i16(fields.len(), "a row description").is_none() {
            return;
        }
        let fields = fields
            .iter()
            .map(|f| {
                FieldDescription::new(
                    cstr(&f.name),
                    // The wire field is an OID; pgwire types it as i32.
                    f.table_oid as i32,
                    f.column,
                    f.type_oid,
                    f.type_len,
                    f.type_mod,
                    f.format,
                )
            })
            .collect();
        self.put(&RowDescription::new(fields));
    }

    /// DataRow (`D`): `None` is SQL NULL (length -1). Written straight into
    /// the output buffer: the length is computed first so no patching and
    /// no per-row allocation is needed beyond the buffer's own growth.
    pub fn data_row(&mut self, values: &[Option<&[u8]>]) {
        if self.output_closed {
            return;
        }
        let Some(count) = self.count_i16(values.len(), "a data row") else {
            return;
        };
        let body: usize = values.iter().map(|v| 4 + v.map_or(0, <[u8]>::len)).sum();
        let Ok(len) = i32::try_from(4 + 2 + body) else {
            self.encode_failed(format!(
                "could not send a row of {body} bytes: the protocol allows at most {} bytes \
                 per message",
                i32::MAX
            ));
            return;
        };
        self.outbuf.reserve(1 + len as usize);
        self.outbuf.put_u8(b'D');
        self.outbuf.put_i32(len);
        self.outbuf.put_i16(count);
        for v in values {
            match v {
                // Fits: the whole message length fit in an i32.
                Some(bytes) => {
                    self.outbuf.put_i32(bytes.len() as i32);
                    self.outbuf.put_slice(bytes);
                }
                None => self.outbuf.put_i32(-1),
            }
        }
    }

    /// CommandComplete (`C`) with its tag, e.g. `SELECT 3`, `INSERT 0 1`.
    pub fn command_complete(&mut self, tag: &str) {
        self.put(&CommandComplete::new(cstr(tag)));
    }

    /// EmptyQueryResponse (`I`): the query string held no statement.
    pub fn empty_query(&mut self) {
        self.put(&EmptyQueryResponse::new());
    }

    /// ErrorResponse (`E`).
    pub fn error(&mut self, e: &PgError) {
        self.put(&ErrorResponse::new(report_fields(e)));
    }

    /// NoticeResponse (`N`), for NOTICE/WARNING/INFO reports.
    pub fn notice(&mut self, e: &PgError) {
        if client_rank(e.severity) < client_rank(self.min_notice) {
            return;
        }
        self.put(&NoticeResponse::new(report_fields(e)));
    }

    /// Sets client_min_messages' level (the backend does before each
    /// statement).
    pub fn set_min_notice(&mut self, level: tusk_common::Severity) {
        self.min_notice = level;
    }

    /// NotificationResponse (`A`) for LISTEN/NOTIFY.
    pub fn notification(&mut self, pid: i32, channel: &str, payload: &str) {
        self.put(&NotificationResponse::new(
            pid,
            cstr(channel),
            cstr(payload),
        ));
    }

    /// ParseComplete (`1`).
    pub fn parse_complete(&mut self) {
        self.put(&ParseComplete::new());
    }

    /// BindComplete (`2`).
    pub fn bind_complete(&mut self) {
        self.put(&BindComplete::new());
    }

    /// CloseComplete (`3`).
    pub fn close_complete(&mut self) {
        self.put(&CloseComplete::new());
    }

    /// NoData (`n`): the statement or portal returns no rows.
    pub fn no_data(&mut self) {
        self.put(&NoData::new());
    }

    /// PortalSuspended (`s`): Execute stopped at its row limit.
    pub fn portal_suspended(&mut self) {
        self.put(&PortalSuspended::new());
    }

    /// ParameterDescription (`t`).
    pub fn parameter_description(&mut self, oids: &[u32]) {
        if oids.len() > u16::MAX as usize {
            self.encode_failed(format!(
                "could not describe {} parameters: the protocol allows at most {}",
                oids.len(),
                u16::MAX
            ));
            return;
        }
        self.put(&ParameterDescription::new(oids.to_vec()));
    }

    /// CopyInResponse (`G`): overall format (0 text, 1 binary) and one
    /// format code per column.
    pub fn copy_in_response(&mut self, format: i16, columns: &[i16]) {
        if let Some((format, n)) = self.copy_header(format, columns) {
            self.put(&CopyInResponse::new(format, n, columns.to_vec()));
        }
    }

    /// CopyOutResponse (`H`).
    pub fn copy_out_response(&mut self, format: i16, columns: &[i16]) {
        if let Some((format, n)) = self.copy_header(format, columns) {
            self.put(&CopyOutResponse::new(format, n, columns.to_vec()));
        }
    }

    fn copy_header(&mut self, format: i16, columns: &[i16]) -> Option<(i8, i16)> {
        // The overall format is a single byte on the wire.
        let Ok(format) = i8::try_from(format) else {
            self.encode_failed(format!(
                "invalid COPY format code {format}: expected 0 or 1"
            ));
            return None;
        };
        let n = self.count_i16(columns.len(), "a COPY response")?;
        Some((format, n))
    }

    /// CopyData (`d`), written straight into the buffer (one per row).
    pub fn copy_data(&mut self, data: &[u8]) {
        if self.output_closed {
            return;
        }
        let Ok(len) = i32::try_from(4 + data.len()) else {
            self.encode_failed(format!(
                "could not send {} bytes of COPY data in one message: the protocol allows at \
                 most {} bytes per message",
                data.len(),
                i32::MAX
            ));
            return;
        };
        self.outbuf.reserve(1 + len as usize);
        self.outbuf.put_u8(b'd');
        self.outbuf.put_i32(len);
        self.outbuf.put_slice(data);
    }

    /// CopyDone (`c`).
    pub fn copy_done(&mut self) {
        self.put(&CopyDone::new());
    }
}

/// The fields of an ErrorResponse/NoticeResponse in PostgreSQL's order:
/// S (localized severity), V (severity, never localized), C, M, then those
/// present of D (detail), H (hint), P (cursor position), W (context), and s, t, c, d, n
/// (schema, table, column, datatype, constraint name), as PostgreSQL's
/// `send_message_to_frontend` sends them.
fn report_fields(e: &PgError) -> Vec<(u8, String)> {
    let severity = e.severity.as_str();
    let mut fields = vec![
        (b'S', severity.to_owned()),
        (b'V', severity.to_owned()),
        (b'C', e.code.as_str().to_owned()),
        (b'M', cstr(&e.message)),
    ];
    if let Some(d) = &e.detail {
        fields.push((b'D', cstr(d)));
    }
    if let Some(h) = &e.hint {
        fields.push((b'H', cstr(h)));
    }
    if let Some(p) = e.position {
        fields.push((b'P', p.to_string()));
    }
    if let Some(w) = &e.context {
        fields.push((b'W', cstr(w)));
    }
    if let Some(o) = &e.objects {
        let names = [
            (b's', &o.schema),
            (b't', &o.table),
            (b'c', &o.column),
            (b'd', &o.datatype),
            (b'n', &o.constraint),
        ];
        for (tag, name) in names {
            if let Some(n) = name {
                fields.push((tag, cstr(n)));
            }
        }
    }
    fields
}

/// A string for a NUL-terminated protocol field. A NUL inside it would end
/// the field early on the client's side and shift every field after it,
/// desynchronising the connection; PostgreSQL's strings are C strings, so
/// cutting at the first NUL is exactly what it would send.
fn cstr(s: &str) -> String {
    match s.find('\0') {
        Some(i) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}
