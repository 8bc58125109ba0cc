//! Connection-level tests over in-memory streams: client bytes are built
//! with rust-postgres's frontend encoders (what a real driver sends) or by
//! hand where a malformed packet is needed, and the server's bytes are
//! checked against the exact bytes PostgreSQL sends and re-parsed with
//! rust-postgres's backend decoder.

use std::collections::VecDeque;
use std::io::{self, Read, Write};

use bytes::BytesMut;
use fallible_iterator::FallibleIterator;
use postgres_protocol::message::{backend, frontend};
use postgres_protocol::IsNull;
use tusk_common::{sqlstate, PgError, Severity};

use crate::*;

/// One step of what the fake client does when the server reads.
enum Step {
    Data(Vec<u8>),
    Fail(io::ErrorKind),
}

/// A scripted duplex stream: reads follow `input` step by step (end of
/// script = EOF), writes go to `output`, limited by `write_plan` when it
/// has entries.
struct Fake {
    input: VecDeque<Step>,
    output: Vec<u8>,
    write_plan: VecDeque<Result<usize, io::ErrorKind>>,
}

impl Fake {
    fn new(bytes: &[u8]) -> Fake {
        let mut input = VecDeque::new();
        if !bytes.is_empty() {
            input.push_back(Step::Data(bytes.to_vec()));
        }
        Fake {
            input,
            output: Vec::new(),
            write_plan: VecDeque::new(),
        }
    }

    /// Delivers `bytes` one at a time with an `err` before every byte.
    fn trickle(bytes: &[u8], err: io::ErrorKind) -> Fake {
        let mut f = Fake::new(b"");
        for &b in bytes {
            f.input.push_back(Step::Fail(err));
            f.input.push_back(Step::Data(vec![b]));
        }
        f
    }
}

impl Read for Fake {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.input.front_mut() {
            None => Ok(0),
            Some(Step::Fail(kind)) => {
                let kind = *kind;
                self.input.pop_front();
                Err(io::Error::new(kind, "fake stream: signal arrived"))
            }
            Some(Step::Data(d)) => {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                d.drain(..n);
                if d.is_empty() {
                    self.input.pop_front();
                }
                Ok(n)
            }
        }
    }
}

impl Write for Fake {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.write_plan.pop_front() {
            None => {
                self.output.extend_from_slice(buf);
                Ok(buf.len())
            }
            Some(Ok(n)) => {
                let n = n.min(buf.len());
                self.output.extend_from_slice(&buf[..n]);
                Ok(n)
            }
            Some(Err(kind)) => Err(io::Error::new(kind, "fake stream: write interrupted")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn conn(bytes: &[u8]) -> Conn<Fake> {
    Conn::new(Fake::new(bytes))
}

fn protocol_error<T: std::fmt::Debug>(r: Result<T, WireError>) -> String {
    match r {
        Err(WireError::Protocol(m)) => m,
        other => panic!("expected WireError::Protocol, got {other:?}"),
    }
}

/// A framing error: PostgreSQL logs it and closes without a word.
fn lost_error<T: std::fmt::Debug>(r: Result<T, WireError>) -> String {
    match r {
        Err(WireError::Lost(m)) => m,
        other => panic!("expected WireError::Lost, got {other:?}"),
    }
}

/// An error inside a well-framed message: ERROR 08P01, the session goes on.
fn malformed_error<T: std::fmt::Debug>(r: Result<T, WireError>) -> String {
    match r {
        Err(WireError::Malformed(m)) => m,
        other => panic!("expected WireError::Malformed, got {other:?}"),
    }
}

fn startup_bytes(params: &[(&str, &str)]) -> Vec<u8> {
    let mut b = BytesMut::new();
    frontend::startup_message(params.iter().copied(), &mut b).unwrap();
    b.to_vec()
}

// ---------------------------------------------------------------- startup

#[test]
fn startup_message_as_libpq_sends_it() {
    let bytes = startup_bytes(&[
        ("user", "alice"),
        ("database", "shop"),
        ("client_encoding", "UTF8"),
    ]);
    let mut c = conn(&bytes);
    assert_eq!(
        c.read_startup().unwrap(),
        StartupRequest::Startup {
            major: 3,
            minor: 0,
            params: vec![
                ("user".into(), "alice".into()),
                ("database".into(), "shop".into()),
                ("client_encoding".into(), "UTF8".into()),
            ],
        }
    );
    assert!(!c.has_buffered_input());
    assert!(matches!(c.read_startup(), Err(WireError::Eof)));
}

#[test]
fn ssl_request_then_startup() {
    let mut b = BytesMut::new();
    frontend::ssl_request(&mut b);
    let mut c = Conn::new(Fake::new(b""));
    c.get_mut().input.push_back(Step::Data(b.to_vec()));
    c.get_mut()
        .input
        .push_back(Step::Data(startup_bytes(&[("user", "u")])));

    assert_eq!(c.read_startup().unwrap(), StartupRequest::Ssl);
    // The client waits for the answer before sending more: nothing buffered.
    assert!(!c.has_buffered_input());
    c.send_ssl_refusal().unwrap();
    assert_eq!(c.get_ref().output, b"N");
    assert!(matches!(
        c.read_startup().unwrap(),
        StartupRequest::Startup { major: 3, .. }
    ));
}

#[test]
fn data_sent_right_after_ssl_request_is_visible() {
    // A man in the middle (or a broken client) sending plaintext right
    // behind the SSLRequest, in the same segment.
    let mut b = BytesMut::new();
    frontend::ssl_request(&mut b);
    b.extend_from_slice(&startup_bytes(&[("user", "u")]));
    let mut c = conn(&b);
    assert_eq!(c.read_startup().unwrap(), StartupRequest::Ssl);
    assert!(c.has_buffered_input());
}

#[test]
fn gssenc_and_cancel_requests() {
    let mut gss = 8i32.to_be_bytes().to_vec();
    gss.extend_from_slice(&80877104i32.to_be_bytes());
    let mut c = conn(&gss);
    assert_eq!(c.read_startup().unwrap(), StartupRequest::GssEnc);
    c.send_gssenc_refusal().unwrap();
    assert_eq!(c.get_ref().output, b"N");

    let mut b = BytesMut::new();
    frontend::cancel_request(4242, -123456789, &mut b);
    let mut c = conn(&b);
    assert_eq!(
        c.read_startup().unwrap(),
        StartupRequest::Cancel {
            pid: 4242,
            key: -123456789
        }
    );
}

#[test]
fn protocol_2_is_returned_for_the_caller_to_refuse() {
    // A v2 startup packet: version 2.0 and a fixed 64-byte database field.
    let mut b = (8 + 64i32).to_be_bytes().to_vec();
    b.extend_from_slice(&0x0002_0000i32.to_be_bytes());
    b.extend_from_slice(&[b'x'; 64]);
    let mut c = conn(&b);
    assert_eq!(
        c.read_startup().unwrap(),
        StartupRequest::Startup {
            major: 2,
            minor: 0,
            params: vec![]
        }
    );
    // A newer minor version of 3 is returned with its parameters, for
    // NegotiateProtocolVersion.
    let mut b = startup_bytes(&[("user", "u"), ("_pq_.x", "1")]);
    b[4..8].copy_from_slice(&0x0003_0002i32.to_be_bytes());
    let got = conn(&b).read_startup().unwrap();
    assert_eq!(
        got,
        StartupRequest::Startup {
            major: 3,
            minor: 2,
            params: vec![("user".into(), "u".into()), ("_pq_.x".into(), "1".into())]
        }
    );
}

#[test]
fn startup_length_limits() {
    for len in [0i32, 3, 7, 10005, i32::MAX, -1, i32::MIN] {
        let mut b = len.to_be_bytes().to_vec();
        b.extend_from_slice(&[0; 8]);
        assert_eq!(
            lost_error(conn(&b).read_startup()),
            "invalid length of startup packet",
            "length {len}"
        );
    }
    // The largest allowed packet: 4 + 10000 bytes.
    // length word, version, "a\0", the value's NUL and the terminator: 12 bytes.
    let filler = "v".repeat(10004 - 12);
    let b = startup_bytes(&[("a", &filler)]);
    assert_eq!(b.len(), 10004);
    assert!(matches!(
        conn(&b).read_startup(),
        Ok(StartupRequest::Startup { .. })
    ));
}

#[test]
fn garbage_before_startup() {
    // An HTTP client on the PostgreSQL port.
    assert_eq!(
        lost_error(conn(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").read_startup()),
        "invalid length of startup packet"
    );
    // A TLS ClientHello (direct SSL, which PostgreSQL 15 does not accept).
    assert_eq!(
        lost_error(conn(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]).read_startup()),
        "invalid length of startup packet"
    );
}

#[test]
fn startup_eof_cases() {
    assert!(matches!(conn(b"").read_startup(), Err(WireError::Eof)));
    assert_eq!(
        lost_error(conn(b"\0\0").read_startup()),
        "incomplete startup packet"
    );
    let b = startup_bytes(&[("user", "u")]);
    assert_eq!(
        lost_error(conn(&b[..b.len() - 1]).read_startup()),
        "incomplete startup packet"
    );
}

#[test]
fn startup_survives_interruptions() {
    let b = startup_bytes(&[("user", "bob"), ("application_name", "psql")]);
    let mut c = Conn::new(Fake::trickle(&b, io::ErrorKind::Interrupted));
    let mut interruptions = 0;
    let got = loop {
        match c.read_startup() {
            Ok(r) => break r,
            Err(WireError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => interruptions += 1,
            Err(e) => panic!("{e:?}"),
        }
    };
    assert_eq!(interruptions, b.len());
    assert_eq!(
        got,
        StartupRequest::Startup {
            major: 3,
            minor: 0,
            params: vec![
                ("user".into(), "bob".into()),
                ("application_name".into(), "psql".into())
            ]
        }
    );
}

// --------------------------------------------------------------- messages

/// One of every frontend message, as rust-postgres encodes them.
fn every_message() -> (Vec<u8>, Vec<FrontendMessage>) {
    let mut b = BytesMut::new();
    let mut want = Vec::new();

    frontend::query("select 1; select 'é'", &mut b).unwrap();
    want.push(FrontendMessage::Query("select 1; select 'é'".into()));

    frontend::parse("s1", "select $1::int4, $2", [23, 0], &mut b).unwrap();
    want.push(FrontendMessage::Parse {
        name: "s1".into(),
        query: "select $1::int4, $2".into(),
        param_types: vec![23, 0],
    });

    let values: [Option<&[u8]>; 3] = [Some(&[0, 0, 0, 7]), None, Some(b"")];
    frontend::bind(
        "p1",
        "s1",
        [1, 0, 0],
        values,
        |v, buf| match v {
            Some(bytes) => {
                buf.extend_from_slice(bytes);
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        },
        [1],
        &mut b,
    )
    .map_err(|_| "bind")
    .unwrap();
    want.push(FrontendMessage::Bind {
        portal: "p1".into(),
        statement: "s1".into(),
        param_formats: vec![1, 0, 0],
        params: vec![Some(vec![0, 0, 0, 7]), None, Some(vec![])],
        result_formats: vec![1],
    });

    frontend::describe(b'S', "s1", &mut b).unwrap();
    want.push(FrontendMessage::Describe {
        kind: Target::Statement,
        name: "s1".into(),
    });
    frontend::describe(b'P', "", &mut b).unwrap();
    want.push(FrontendMessage::Describe {
        kind: Target::Portal,
        name: String::new(),
    });
    frontend::execute("p1", 4, &mut b).unwrap();
    want.push(FrontendMessage::Execute {
        portal: "p1".into(),
        max_rows: 4,
    });
    frontend::close(b'P', "p1", &mut b).unwrap();
    want.push(FrontendMessage::Close {
        kind: Target::Portal,
        name: "p1".into(),
    });
    frontend::close(b'S', "s1", &mut b).unwrap();
    want.push(FrontendMessage::Close {
        kind: Target::Statement,
        name: "s1".into(),
    });
    frontend::flush(&mut b);
    want.push(FrontendMessage::Flush);
    frontend::sync(&mut b);
    want.push(FrontendMessage::Sync);

    frontend::CopyData::new(&b"1\tone\n"[..])
        .unwrap()
        .write(&mut b);
    want.push(FrontendMessage::CopyData(b"1\tone\n".to_vec()));
    frontend::copy_done(&mut b);
    want.push(FrontendMessage::CopyDone);
    frontend::copy_fail("aborted by user", &mut b).unwrap();
    want.push(FrontendMessage::CopyFail("aborted by user".into()));

    frontend::password_message(b"md5abc", &mut b).unwrap();
    want.push(FrontendMessage::Password(b"md5abc\0".to_vec()));
    frontend::sasl_initial_response("SCRAM-SHA-256", b"n,,n=,r=xyz", &mut b).unwrap();
    let mut sasl = b"SCRAM-SHA-256\0".to_vec();
    sasl.extend_from_slice(&11i32.to_be_bytes());
    sasl.extend_from_slice(b"n,,n=,r=xyz");
    want.push(FrontendMessage::Password(sasl));
    frontend::sasl_response(b"c=biws,r=xyz,p=proof", &mut b).unwrap();
    want.push(FrontendMessage::Password(b"c=biws,r=xyz,p=proof".to_vec()));

    // FunctionCall: rust-postgres has no encoder; a call of function 1234
    // with no arguments, text result.
    b.extend_from_slice(b"F\0\0\0\x0e\0\0\x04\xd2\0\0\0\0\0\0");
    want.push(FrontendMessage::FunctionCall(
        b"\0\0\x04\xd2\0\0\0\0\0\0".to_vec(),
    ));

    frontend::terminate(&mut b);
    want.push(FrontendMessage::Terminate);
    (b.to_vec(), want)
}

#[test]
fn every_frontend_message_round_trips() {
    let (bytes, want) = every_message();
    let mut c = conn(&bytes);
    for w in &want {
        let got = c.read_message().unwrap();
        assert_eq!(&got, w);
        assert_eq!(got.type_byte(), w.type_byte());
    }
    assert!(matches!(c.read_message(), Err(WireError::Eof)));

    // And the password helpers decode what rust-postgres sent.
    let FrontendMessage::Password(body) = &want[13] else {
        panic!()
    };
    assert_eq!(parse_password(body).unwrap(), b"md5abc");
    let FrontendMessage::Password(body) = &want[14] else {
        panic!()
    };
    let r = parse_sasl_initial_response(body).unwrap();
    assert_eq!(
        (r.mechanism, r.data),
        (&b"SCRAM-SHA-256"[..], Some(&b"n,,n=,r=xyz"[..]))
    );
}

#[test]
fn every_message_survives_byte_by_byte_interruptions() {
    let (bytes, want) = every_message();
    for kind in [io::ErrorKind::Interrupted, io::ErrorKind::WouldBlock] {
        let mut c = Conn::new(Fake::trickle(&bytes, kind));
        let mut got = Vec::new();
        let mut errors = 0;
        loop {
            match c.read_message() {
                Ok(m) => got.push(m),
                Err(WireError::Io(e)) => {
                    assert_eq!(e.kind(), kind);
                    errors += 1;
                }
                Err(WireError::Eof) => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(got, want);
        assert_eq!(errors, bytes.len());
    }
}

#[test]
fn interrupted_inside_the_length_word_and_body() {
    let mut b = BytesMut::new();
    frontend::query("select 42", &mut b).unwrap();
    frontend::sync(&mut b);
    let b = b.to_vec();
    // Cut after the type byte + 2 length bytes, and again mid-body.
    let mut f = Fake::new(b"");
    f.input.push_back(Step::Data(b[..3].to_vec()));
    f.input.push_back(Step::Fail(io::ErrorKind::Interrupted));
    f.input.push_back(Step::Data(b[3..9].to_vec()));
    f.input.push_back(Step::Fail(io::ErrorKind::Other));
    f.input.push_back(Step::Data(b[9..].to_vec()));
    let mut c = Conn::new(f);
    assert!(
        matches!(c.read_message(), Err(WireError::Io(e)) if e.kind() == io::ErrorKind::Interrupted)
    );
    assert!(c.has_buffered_input());
    assert!(matches!(c.read_message(), Err(WireError::Io(e)) if e.kind() == io::ErrorKind::Other));
    assert_eq!(
        c.read_message().unwrap(),
        FrontendMessage::Query("select 42".into())
    );
    assert_eq!(c.read_message().unwrap(), FrontendMessage::Sync);
    assert!(matches!(c.read_message(), Err(WireError::Eof)));
}

#[test]
fn pipelined_messages_after_startup_stay_buffered() {
    let mut b = startup_bytes(&[("user", "u")]);
    let mut q = BytesMut::new();
    frontend::query("select 1", &mut q).unwrap();
    b.extend_from_slice(&q);
    let mut c = conn(&b);
    assert!(matches!(
        c.read_startup().unwrap(),
        StartupRequest::Startup { .. }
    ));
    assert!(c.has_buffered_input());
    assert_eq!(
        c.read_message().unwrap(),
        FrontendMessage::Query("select 1".into())
    );
}

// ------------------------------------------------------ malformed messages

fn header(ty: u8, len: i32) -> Vec<u8> {
    let mut b = vec![ty];
    b.extend_from_slice(&len.to_be_bytes());
    b
}

#[test]
fn truncated_message() {
    let mut b = BytesMut::new();
    frontend::query("select 1", &mut b).unwrap();
    assert_eq!(
        lost_error(conn(&b[..b.len() - 1]).read_message()),
        "incomplete message from client"
    );
    assert_eq!(
        lost_error(conn(&b[..3]).read_message()),
        "unexpected EOF within message length word"
    );
}

#[test]
fn bad_declared_lengths() {
    for (ty, len) in [
        (b'Q', i32::MAX),
        (b'Q', 0x3fff_ffff), // one over the large limit
        (b'd', i32::MIN),
        (b'Q', 3),
        (b'S', 0),
        (b'S', -1),
        (b'S', 10001),
        (b'E', 10001),
        (b'p', 65536),
    ] {
        // The body never arrives: the error must come from the header alone.
        assert_eq!(
            lost_error(conn(&header(ty, len)).read_message()),
            "invalid message length",
            "type {} length {len}",
            ty as char
        );
    }
}

#[test]
fn large_declared_length_is_not_allocated_up_front() {
    // A valid header for a 1 GiB - 2 Query, then only a few bytes.
    let mut b = header(b'Q', 0x3fff_ffff - 1);
    b.extend_from_slice(b"select");
    let mut c = conn(&b);
    assert_eq!(
        lost_error(c.read_message()),
        "incomplete message from client"
    );
    assert!(
        c.inbuf.capacity() <= 1024 * 1024,
        "capacity {}",
        c.inbuf.capacity()
    );
}

#[test]
fn unknown_type_byte() {
    assert_eq!(
        protocol_error(conn(b"Z\0\0\0\x05I").read_message()),
        "invalid frontend message type 90"
    );
    // Judged on the type byte alone, without waiting for a length.
    assert_eq!(
        protocol_error(conn(b"\0").read_message()),
        "invalid frontend message type 0"
    );
    // A startup packet sent where a message is expected.
    assert_eq!(
        protocol_error(conn(&startup_bytes(&[("user", "u")])).read_message()),
        "invalid frontend message type 0"
    );
}

#[test]
fn bind_with_format_count_mismatch() {
    let mut b = BytesMut::new();
    frontend::bind(
        "",
        "",
        [0, 1],
        [
            Some(b"1".as_slice()),
            Some(b"2".as_slice()),
            Some(b"3".as_slice()),
        ],
        |v: Option<&[u8]>, buf| {
            buf.extend_from_slice(v.unwrap_or_default());
            Ok(IsNull::No)
        },
        [0],
        &mut b,
    )
    .map_err(|_| "bind")
    .unwrap();
    assert_eq!(
        malformed_error(conn(&b).read_message()),
        "bind message has 2 parameter formats but 3 parameters"
    );
}

#[test]
fn invalid_utf8_query_is_an_error_not_a_disconnect() {
    let mut b = header(b'Q', 4 + 12);
    b.extend_from_slice(b"select '\xc3\x28'\0");
    let mut s = BytesMut::new();
    frontend::sync(&mut s);
    b.extend_from_slice(&s);
    let mut c = conn(&b);
    let err = c.read_message().unwrap_err();
    let WireError::Encoding(m) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(m, "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28");
    let pg = err.to_pg_error().unwrap();
    assert_eq!((pg.severity, pg.code.as_str()), (Severity::Error, "22021"));
    // The bad message was consumed; the session goes on.
    assert_eq!(c.read_message().unwrap(), FrontendMessage::Sync);
}

#[test]
fn to_pg_error_mapping() {
    let e = WireError::Protocol("invalid frontend message type 33".into())
        .to_pg_error()
        .unwrap();
    assert_eq!(
        e,
        PgError::fatal(
            sqlstate::PROTOCOL_VIOLATION,
            "invalid frontend message type 33"
        )
    );
    let e = WireError::Malformed("invalid message format".into())
        .to_pg_error()
        .unwrap();
    assert_eq!(
        e,
        PgError::error(sqlstate::PROTOCOL_VIOLATION, "invalid message format")
    );
    // A lost framing is logged only: nothing is sent to the client.
    assert!(WireError::Lost("invalid message length".into())
        .to_pg_error()
        .is_none());
    assert!(WireError::Eof.to_pg_error().is_none());
    assert!(WireError::Io(io::ErrorKind::Interrupted.into())
        .to_pg_error()
        .is_none());
}

/// A small deterministic generator (xorshift64*) for the garbage tests.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Read until the stream fails; return how many messages decoded. Every
/// read either makes progress or ends, so this terminates.
fn drain_messages(bytes: &[u8]) -> usize {
    let mut c = conn(bytes);
    let mut n = 0;
    while c.read_message().is_ok() {
        n += 1;
    }
    n
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let len = rng.below(80);
        let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        let _ = conn(&b).read_startup();
        drain_messages(&b);
        // Also garbage behind a plausible header, so body decoders see it.
        let types = b"QPBDECSHXdcfpF";
        let ty = types[rng.below(types.len())];
        let mut framed = header(ty, 4 + len as i32);
        framed.append(&mut b);
        drain_messages(&framed);
        // And as a startup packet body with a valid length and version.
        let mut sp = (8 + len as i32).to_be_bytes().to_vec();
        sp.extend_from_slice(&PROTOCOL_3_0.to_be_bytes());
        sp.extend_from_slice(&framed[5..]);
        let _ = conn(&sp).read_startup();
    }
}

#[test]
fn mutated_real_messages_never_panic() {
    let (bytes, _) = every_message();
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(b.len());
            b[i] = rng.next() as u8;
        }
        if rng.below(2) == 0 {
            b.truncate(rng.below(b.len()));
        }
        drain_messages(&b);
    }
}

// ---------------------------------------------------------------- output

fn output(f: impl FnOnce(&mut Conn<Fake>)) -> Vec<u8> {
    let mut c = conn(b"");
    f(&mut c);
    assert!(c.get_ref().output.is_empty(), "written before flush");
    c.flush().unwrap();
    c.get_ref().output.clone()
}

fn parse_backend(bytes: &[u8]) -> Vec<backend::Message> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(m) = backend::Message::parse(&mut buf).unwrap() {
        out.push(m);
    }
    assert!(buf.is_empty(), "trailing bytes");
    out
}

#[test]
fn exact_bytes_of_simple_messages() {
    assert_eq!(
        output(|c| c.ready_for_query(TxStatus::Idle)),
        b"Z\0\0\0\x05I"
    );
    assert_eq!(
        output(|c| c.ready_for_query(TxStatus::InBlock)),
        b"Z\0\0\0\x05T"
    );
    assert_eq!(
        output(|c| c.ready_for_query(TxStatus::Failed)),
        b"Z\0\0\0\x05E"
    );
    assert_eq!(output(|c| c.auth_ok()), b"R\0\0\0\x08\0\0\0\0");
    assert_eq!(
        output(|c| c.auth_cleartext_password()),
        b"R\0\0\0\x08\0\0\0\x03"
    );
    assert_eq!(
        output(|c| c.auth_md5_password([1, 2, 3, 4])),
        b"R\0\0\0\x0c\0\0\0\x05\x01\x02\x03\x04"
    );
    assert_eq!(
        output(|c| c.auth_sasl(&["SCRAM-SHA-256"])),
        b"R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0"
    );
    assert_eq!(
        output(|c| c.auth_sasl_continue(b"r=x")),
        b"R\0\0\0\x0b\0\0\0\x0br=x"
    );
    assert_eq!(
        output(|c| c.auth_sasl_final(b"v=y")),
        b"R\0\0\0\x0b\0\0\0\x0cv=y"
    );
    assert_eq!(
        output(|c| c.parameter_status("DateStyle", "ISO, MDY")),
        b"S\0\0\0\x17DateStyle\0ISO, MDY\0"
    );
    assert_eq!(
        output(|c| c.backend_key_data(1234, -2)),
        b"K\0\0\0\x0c\0\0\x04\xd2\xff\xff\xff\xfe"
    );
    assert_eq!(
        output(|c| c.command_complete("SELECT 1")),
        b"C\0\0\0\x0dSELECT 1\0"
    );
    assert_eq!(output(|c| c.empty_query()), b"I\0\0\0\x04");
    assert_eq!(output(|c| c.parse_complete()), b"1\0\0\0\x04");
    assert_eq!(output(|c| c.bind_complete()), b"2\0\0\0\x04");
    assert_eq!(output(|c| c.close_complete()), b"3\0\0\0\x04");
    assert_eq!(output(|c| c.no_data()), b"n\0\0\0\x04");
    assert_eq!(output(|c| c.portal_suspended()), b"s\0\0\0\x04");
    assert_eq!(output(|c| c.copy_done()), b"c\0\0\0\x04");
    assert_eq!(output(|c| c.copy_data(b"a\tb\n")), b"d\0\0\0\x08a\tb\n");
    assert_eq!(
        output(|c| c.parameter_description(&[23, 25])),
        b"t\0\0\0\x0e\0\x02\0\0\0\x17\0\0\0\x19"
    );
    assert_eq!(
        output(|c| c.copy_in_response(0, &[0, 0])),
        b"G\0\0\0\x0b\0\0\x02\0\0\0\0"
    );
    assert_eq!(
        output(|c| c.copy_out_response(1, &[1])),
        b"H\0\0\0\x09\x01\0\x01\0\x01"
    );
    assert_eq!(
        output(|c| c.negotiate_protocol_version(PROTOCOL_3_0, &["_pq_.x".to_string()])),
        b"v\0\0\0\x13\0\x03\0\0\0\0\0\x01_pq_.x\0"
    );
    assert_eq!(
        output(|c| c.notification(7, "ch", "hi")),
        b"A\0\0\0\x0e\0\0\0\x07ch\0hi\0"
    );
}

#[test]
fn error_response_field_order_and_bytes() {
    let e = PgError::error(sqlstate::UNDEFINED_TABLE, "relation \"t\" does not exist")
        .with_detail("d")
        .with_hint("h");
    let mut want = b"E".to_vec();
    let body = b"SERROR\0VERROR\0C42P01\0Mrelation \"t\" does not exist\0Dd\0Hh\0\0";
    want.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
    want.extend_from_slice(body);
    assert_eq!(output(|c| c.error(&e)), want);

    // A notice without detail or hint; and the same through a client parser.
    let n = PgError::new(
        Severity::Notice,
        tusk_common::sqlstate::SUCCESSFUL_COMPLETION,
        "table \"t\" does not exist, skipping",
    );
    let bytes = output(|c| c.notice(&n));
    assert_eq!(bytes[0], b'N');
    let msgs = parse_backend(&bytes);
    let backend::Message::NoticeResponse(body) = &msgs[0] else {
        panic!()
    };
    let fields: Vec<(u8, String)> = body
        .fields()
        .map(|f| {
            Ok((
                f.type_(),
                String::from_utf8_lossy(f.value_bytes()).into_owned(),
            ))
        })
        .collect()
        .unwrap();
    assert_eq!(
        fields,
        vec![
            (b'S', "NOTICE".into()),
            (b'V', "NOTICE".into()),
            (b'C', "00000".into()),
            (b'M', "table \"t\" does not exist, skipping".into()),
        ]
    );
}

/// The cursor position and the object names go after D and H, in
/// PostgreSQL's order P s t c d n, and only when set.
#[test]
fn error_response_position_and_object_names() {
    let e = PgError::error(sqlstate::SYNTAX_ERROR, "syntax error at or near \"SELEC\"")
        .with_position(Some(1));
    let body = b"SERROR\0VERROR\0C42601\0Msyntax error at or near \"SELEC\"\0P1\0\0";
    let mut want = b"E".to_vec();
    want.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
    want.extend_from_slice(body);
    assert_eq!(output(|c| c.error(&e)), want);

    let e = PgError::error(sqlstate::DATA_EXCEPTION, "m")
        .with_hint("h")
        .with_constraint("t_pkey")
        .with_column("id")
        .with_table("t")
        .with_schema("public")
        .with_datatype("int4");
    let body = b"SERROR\0VERROR\0C22000\0Mm\0Hh\0spublic\0tt\0cid\0dint4\0nt_pkey\0\0";
    let mut want = b"E".to_vec();
    want.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
    want.extend_from_slice(body);
    assert_eq!(output(|c| c.error(&e)), want);
}

#[test]
fn nul_inside_a_string_cannot_break_framing() {
    let e = PgError::error(sqlstate::DATA_EXCEPTION, "bad\0tail");
    let bytes = output(|c| {
        c.error(&e);
        c.ready_for_query(TxStatus::Idle);
    });
    let msgs = parse_backend(&bytes);
    let backend::Message::ErrorResponse(body) = &msgs[0] else {
        panic!()
    };
    let m = body
        .fields()
        .find(|f| Ok(f.type_() == b'M'))
        .unwrap()
        .unwrap();
    assert_eq!(m.value_bytes(), b"bad");
    assert!(matches!(msgs[1], backend::Message::ReadyForQuery(_)));
}

#[test]
fn row_description_and_data_rows() {
    let fields = [
        FieldDesc {
            name: "id".into(),
            table_oid: 16384,
            column: 1,
            type_oid: 23,
            type_len: 4,
            type_mod: -1,
            format: 0,
        },
        FieldDesc {
            name: "name".into(),
            table_oid: 0,
            column: 0,
            type_oid: 25,
            type_len: -1,
            type_mod: -1,
            format: 1,
        },
    ];
    let bytes = output(|c| c.row_description(&fields[..1]));
    assert_eq!(
        bytes,
        b"T\0\0\0\x1b\0\x01id\0\0\0\x40\0\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\0"
    );
    assert_eq!(
        output(|c| c.data_row(&[Some(b"42"), None, Some(b"")])),
        b"D\0\0\0\x14\0\x03\0\0\0\x0242\xff\xff\xff\xff\0\0\0\0"
    );

    // A whole result as a client library parses it.
    let bytes = output(|c| {
        c.row_description(&fields);
        c.data_row(&[Some(b"1"), Some(b"one")]);
        c.data_row(&[Some(b"2"), None]);
        c.command_complete("SELECT 2");
        c.ready_for_query(TxStatus::Idle);
    });
    let msgs = parse_backend(&bytes);
    assert_eq!(msgs.len(), 5);
    let backend::Message::RowDescription(rd) = &msgs[0] else {
        panic!()
    };
    let cols: Vec<(String, u32, i16)> = rd
        .fields()
        .map(|f| Ok((f.name().to_owned(), f.type_oid(), f.format())))
        .collect()
        .unwrap();
    assert_eq!(cols, vec![("id".into(), 23, 0), ("name".into(), 25, 1)]);
    let backend::Message::DataRow(row) = &msgs[2] else {
        panic!()
    };
    let vals: Vec<Option<Vec<u8>>> = row
        .ranges()
        .map(|r| Ok(r.map(|r| row.buffer()[r].to_vec())))
        .collect()
        .unwrap();
    assert_eq!(vals, vec![Some(b"2".to_vec()), None]);
    let backend::Message::CommandComplete(cc) = &msgs[3] else {
        panic!()
    };
    assert_eq!(cc.tag().unwrap(), "SELECT 2");
}

#[test]
fn flush_resumes_after_interrupted_and_partial_writes() {
    let mut c = conn(b"");
    c.get_mut().write_plan.extend([
        Ok(2),
        Err(io::ErrorKind::Interrupted),
        Ok(0),
        Ok(3),
        Err(io::ErrorKind::WouldBlock),
    ]);
    c.command_complete("SELECT 1");
    c.ready_for_query(TxStatus::Idle);
    let want = [&b"C\0\0\0\x0dSELECT 1\0"[..], b"Z\0\0\0\x05I"].concat();
    assert_eq!(c.flush().unwrap_err().kind(), io::ErrorKind::Interrupted);
    assert_eq!(c.flush().unwrap_err().kind(), io::ErrorKind::WriteZero);
    assert_eq!(c.flush().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    assert!(c.pending_output() > 0);
    c.flush().unwrap();
    assert_eq!(c.get_ref().output, want);
    assert_eq!(c.pending_output(), 0);
}

/// The fields `S` and `C` and `M` of an ErrorResponse.
fn report_of(m: &backend::Message) -> (String, String, String) {
    let backend::Message::ErrorResponse(body) = m else {
        panic!("not an ErrorResponse")
    };
    let field = |t: u8| {
        let f = body.fields().find(|f| Ok(f.type_() == t)).unwrap().unwrap();
        String::from_utf8(f.value_bytes().to_vec()).unwrap()
    };
    (field(b'S'), field(b'C'), field(b'M'))
}

/// A row that cannot be encoded used to vanish while the CommandComplete
/// and ReadyForQuery after it went out: the client saw a successful SELECT
/// with one row fewer. Now the output stops at the row with a FATAL
/// report, and flush returns the error so that the backend ends.
#[test]
fn unencodable_row_stops_the_output_with_a_fatal_report() {
    let mut c = conn(b"");
    c.command_complete("BEGIN");
    let too_many: Vec<Option<&[u8]>> = vec![None; 40000];
    c.data_row(&too_many);
    assert!(c.should_flush());
    c.data_row(&[Some(b"later")]);
    c.command_complete("SELECT 2");
    c.ready_for_query(TxStatus::InBlock);
    let err = c.flush().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("40000 columns"), "{err}");
    let msgs = parse_backend(&c.get_ref().output);
    assert_eq!(msgs.len(), 2);
    assert!(matches!(msgs[0], backend::Message::CommandComplete(_)));
    let (severity, code, message) = report_of(&msgs[1]);
    assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "54000"));
    assert!(message.contains("40000 columns"), "{message}");
    // The error is reported once, and the report stays the last message:
    // the caller's own FATAL about the failed flush would repeat it.
    c.error(&PgError::fatal(sqlstate::CONNECTION_FAILURE, "again"));
    c.flush().unwrap();
    assert_eq!(parse_backend(&c.get_ref().output).len(), 2);
}

/// `SELECT repeat('x', 1073741823), repeat('y', 1073741823)`: each value
/// is legal, the row (2 GB) is not. The same 1 MiB slice many times over
/// makes such a row without allocating it.
#[test]
fn row_over_2gb_is_refused_not_dropped() {
    let mib = vec![b'x'; 1 << 20];
    let values: Vec<Option<&[u8]>> = vec![Some(&mib[..]); 2048];
    let mut c = conn(b"");
    c.data_row(&values);
    c.command_complete("SELECT 1");
    c.ready_for_query(TxStatus::Idle);
    let err = c.flush().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    let msgs = parse_backend(&c.get_ref().output);
    assert_eq!(msgs.len(), 1, "only the report goes out");
    let (severity, code, message) = report_of(&msgs[0]);
    assert_eq!((severity.as_str(), code.as_str()), ("FATAL", "54000"));
    assert!(message.contains("at most 2147483647 bytes"), "{message}");
}

#[test]
fn should_flush_after_many_rows() {
    let mut c = conn(b"");
    let v = [0u8; 100];
    while !c.should_flush() {
        c.data_row(&[Some(&v)]);
    }
    assert!(c.pending_output() >= FLUSH_THRESHOLD);
    c.flush().unwrap();
    assert!(!c.should_flush());
}

#[test]
fn big_message_buffer_is_released() {
    let data = vec![7u8; 3 * 1024 * 1024];
    let mut b = BytesMut::new();
    frontend::CopyData::new(&data[..]).unwrap().write(&mut b);
    frontend::copy_done(&mut b);
    let mut c = conn(&b);
    let FrontendMessage::CopyData(got) = c.read_message().unwrap() else {
        panic!()
    };
    assert_eq!(got.len(), data.len());
    assert_eq!(c.read_message().unwrap(), FrontendMessage::CopyDone);
    assert!(c.inbuf.capacity() <= 1024 * 1024);
}
