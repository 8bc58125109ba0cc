//! The wire protocol byte by byte: what a driver hides (the order of
//! ParameterStatus and CommandComplete, the startup sequence) and what no
//! driver would send (truncated, oversized, unknown and pre-v3 input).
//! Malformed input must end only the session that sent it.

use crate::util::{
    message, query_message, simple_value, startup_packet, summaries, wait_until, Msg, Opts,
    RawConn, TestServer,
};
use std::time::Duration;

#[test]
fn startup_sequence() {
    let srv = TestServer::start(Opts::new());
    let (_c, msgs) = srv.raw_session();
    let tags: Vec<u8> = msgs.iter().map(|m| m.tag).collect();
    // AuthenticationOk first, ReadyForQuery('I') last, BackendKeyData before it.
    assert_eq!(tags.first(), Some(&b'R'), "{:?}", summaries(&msgs));
    assert_eq!(msgs[0].body, 0u32.to_be_bytes(), "AuthenticationOk");
    let last = msgs.last().expect("messages");
    assert_eq!((last.tag, last.body.as_slice()), (b'Z', &b"I"[..]));
    let k = msgs
        .iter()
        .position(|m| m.tag == b'K')
        .expect("BackendKeyData");
    assert_eq!(msgs[k].body.len(), 8, "BackendKeyData: pid and 32-bit key");
    let params: Vec<(String, String)> = msgs.iter().filter_map(Msg::parameter).collect();
    let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert!(
        get("server_version").is_some_and(|v| v.starts_with("15")),
        "{params:?}"
    );
    assert_eq!(
        get("client_encoding").as_deref(),
        Some("UTF8"),
        "{params:?}"
    );
    assert_eq!(
        get("integer_datetimes").as_deref(),
        Some("on"),
        "{params:?}"
    );
    assert!(get("application_name").is_some(), "{params:?}");
    assert!(
        tags.iter().rposition(|&t| t == b'S') < Some(k),
        "ParameterStatus before BackendKeyData: {:?}",
        summaries(&msgs)
    );
}

#[test]
fn set_application_name_sends_parameter_status() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    c.send(&query_message("SET application_name = 'raw_app'"))
        .expect("send");
    let msgs = c.read_until_ready();
    let s = msgs
        .iter()
        .position(|m| m.parameter() == Some(("application_name".into(), "raw_app".into())))
        .unwrap_or_else(|| {
            panic!(
                "no ParameterStatus application_name=raw_app: {:?}",
                summaries(&msgs)
            )
        });
    let done = msgs
        .iter()
        .position(|m| m.command_tag().as_deref() == Some("SET"))
        .expect("CommandComplete SET");
    assert!(
        s < done,
        "ParameterStatus must come before CommandComplete: {:?}",
        summaries(&msgs)
    );

    // A setting that is not reported sends none.
    c.send(&query_message("SET statement_timeout = 1000"))
        .expect("send");
    let msgs = c.read_until_ready();
    assert!(
        msgs.iter().all(|m| m.tag != b'S'),
        "statement_timeout is not a reported setting: {:?}",
        summaries(&msgs)
    );
}

/// Reads everything until the server closes; the closing must happen
/// within the read timeout.
fn read_to_close(c: &mut RawConn, what: &str) -> Vec<Msg> {
    match c.read_to_eof() {
        Ok(m) => {
            eprintln!("{what}: the server answered {:?} and closed", summaries(&m));
            m
        }
        Err((e, got)) => panic!(
            "{what}: the server did not close the connection ({e}); got {:?}",
            summaries(&got)
        ),
    }
}

#[track_caller]
fn assert_fatal(msgs: &[Msg], codes: &[&str], what: &str) -> Msg {
    let errors: Vec<&Msg> = msgs.iter().filter(|m| m.tag == b'E').collect();
    assert_eq!(
        errors.len(),
        1,
        "{what}: expected one ErrorResponse, got {:?}",
        summaries(msgs)
    );
    let e = errors[0];
    assert_eq!(
        e.field(b'S').as_deref(),
        Some("FATAL"),
        "{what}: {}",
        e.summary()
    );
    assert_eq!(
        e.field(b'V').as_deref(),
        Some("FATAL"),
        "{what}: non-localised severity: {}",
        e.summary()
    );
    let code = e.field(b'C').unwrap_or_default();
    assert!(
        codes.contains(&code.as_str()),
        "{what}: SQLSTATE {code}, expected {codes:?}: {}",
        e.summary()
    );
    e.clone()
}

#[test]
fn malformed_input_ends_only_that_session() {
    let srv = TestServer::start(Opts::new());
    let mut bystander = srv.connect();
    let bystander_ok = |c: &mut postgres::Client, after: &str| {
        assert_eq!(
            simple_value(c, "SELECT 1").as_deref(),
            Some("1"),
            "the other session after {after}"
        );
    };

    // 1. A truncated message, then the client stops sending: the server
    //    reads EOF inside a message. As PostgreSQL, it logs it and closes
    //    without a word (the framing is lost).
    {
        let (mut c, _) = srv.raw_session();
        let mut m = query_message("SELECT 1");
        m.truncate(m.len() - 4);
        c.send(&m).expect("send");
        c.half_close();
        let msgs = read_to_close(&mut c, "truncated message");
        assert!(msgs.is_empty(), "truncated message: {:?}", summaries(&msgs));
        assert!(
            wait_until(Duration::from_secs(5), || srv
                .log()
                .contains("incomplete message from client")),
            "the log does not say \"incomplete message from client\""
        );
    }
    bystander_ok(&mut bystander, "a truncated message");

    // 1b. A truncated startup packet.
    {
        let mut c = srv.raw();
        let p = startup_packet(crate::util::PROTOCOL_3_0, &[("user", "postgres")]);
        c.send(&p[..p.len() - 3]).expect("send");
        c.half_close();
        let msgs = read_to_close(&mut c, "truncated startup packet");
        assert!(
            msgs.is_empty(),
            "truncated startup packet: {:?}",
            summaries(&msgs)
        );
        assert!(
            wait_until(Duration::from_secs(5), || srv
                .log()
                .contains("incomplete startup packet")),
            "the log does not say \"incomplete startup packet\""
        );
    }
    bystander_ok(&mut bystander, "a truncated startup packet");

    // 2. An oversized length after a good startup: refused before any
    //    allocation; as PostgreSQL, logged and the connection closed
    //    without a word (the client could not parse an answer).
    {
        let (mut c, _) = srv.raw_session();
        let mut m = vec![b'Q'];
        m.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
        c.send(&m).expect("send");
        let msgs = read_to_close(&mut c, "oversized length");
        assert!(msgs.is_empty(), "oversized length: {:?}", summaries(&msgs));
        assert!(
            wait_until(Duration::from_secs(5), || srv
                .log()
                .contains("invalid message length")),
            "the log does not say \"invalid message length\""
        );
    }
    bystander_ok(&mut bystander, "an oversized length");

    // 2b. An oversized startup packet length.
    {
        let mut c = srv.raw();
        let mut p = 0x7fff_ffffu32.to_be_bytes().to_vec();
        p.extend_from_slice(&crate::util::PROTOCOL_3_0.to_be_bytes());
        c.send(&p).expect("send");
        let msgs = read_to_close(&mut c, "oversized startup packet");
        assert!(
            msgs.is_empty(),
            "oversized startup packet: {:?}",
            summaries(&msgs)
        );
        assert!(
            wait_until(Duration::from_secs(5), || srv
                .log()
                .contains("invalid length of startup packet")),
            "the log does not say \"invalid length of startup packet\""
        );
    }
    bystander_ok(&mut bystander, "an oversized startup packet");

    // 3. An unknown message type after a good startup.
    {
        let (mut c, _) = srv.raw_session();
        c.send(&message(b'!', b"")).expect("send");
        let msgs = read_to_close(&mut c, "unknown message type");
        let e = assert_fatal(&msgs, &["08P01"], "unknown message type");
        assert!(
            e.field(b'M')
                .unwrap_or_default()
                .contains("invalid frontend message type 33"),
            "{}",
            e.summary()
        );
    }
    bystander_ok(&mut bystander, "an unknown message type");

    // 4. Protocol 2.0: refused, naming the protocol versions.
    {
        let mut c = srv.raw();
        c.send(&startup_packet(
            2 << 16,
            &[("user", "postgres"), ("database", "postgres")],
        ))
        .expect("send");
        let msgs = read_to_close(&mut c, "protocol 2.0");
        let e = assert_fatal(&msgs, &["0A000", "08P01"], "protocol 2.0");
        let m = e.field(b'M').unwrap_or_default();
        assert!(
            m.contains("protocol") && m.contains("2.0"),
            "the message must name the protocol: {}",
            e.summary()
        );
    }
    bystander_ok(&mut bystander, "a protocol 2.0 startup");

    // 5. Garbage instead of a startup packet: an HTTP request, and bytes
    //    whose length word is too small. Their length words are out of
    //    range, so, as PostgreSQL, a plain close; never a hang, never a
    //    crash.
    for (what, bytes) in [
        (
            "an HTTP request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        (
            "a too-short length word",
            vec![0, 0, 0, 2, 0xde, 0xad, 0xbe, 0xef],
        ),
        (
            "random bytes",
            (0u8..64)
                .map(|i| i.wrapping_mul(37).wrapping_add(11))
                .collect(),
        ),
    ] {
        let mut c = srv.raw();
        c.send(&bytes).expect("send");
        let msgs = read_to_close(&mut c, what);
        assert!(msgs.is_empty(), "{what}: {:?}", summaries(&msgs));
        bystander_ok(&mut bystander, what);
    }

    // The postmaster is alive, still ready, and takes new sessions.
    let mut srv = srv;
    assert!(srv.is_running(), "the postmaster died");
    assert_eq!(srv.lock_line(8).as_deref(), Some("ready   "));
    let mut fresh = srv.connect();
    assert_eq!(simple_value(&mut fresh, "SELECT 1").as_deref(), Some("1"));
    assert!(
        !srv.log().contains("terminated by signal"),
        "a process crashed:\n{}",
        srv.log()
    );
    assert!(
        !srv.log().contains("PANIC"),
        "a process panicked:\n{}",
        srv.log()
    );
}

/// A message sent after an extended-protocol error is skipped until Sync,
/// which answers ReadyForQuery; a session survives a bad Bind.
#[test]
fn extended_protocol_error_skips_to_sync() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    let mut parse = b"\0SELECT $1::int4\0".to_vec();
    parse.extend_from_slice(&1u16.to_be_bytes());
    parse.extend_from_slice(&23u32.to_be_bytes());
    let mut out = message(b'P', &parse);
    // Bind with zero parameters for a statement that needs one: error.
    out.extend(message(b'B', b"\0\0\0\0\0\0\0\0"));
    out.extend(message(b'E', b"\0\0\0\0\0"));
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    let tags: Vec<u8> = msgs.iter().map(|m| m.tag).collect();
    assert_eq!(
        tags,
        b"1EZ",
        "ParseComplete, ErrorResponse, ReadyForQuery: {:?}",
        summaries(&msgs)
    );
    assert_eq!(msgs[1].field(b'S').as_deref(), Some("ERROR"));
    assert_eq!(msgs[1].field(b'C').as_deref(), Some("08P01"));
    c.send(&query_message("SELECT 7")).expect("send");
    let msgs = c.read_until_ready();
    assert!(
        msgs.iter().any(|m| m.tag == b'D' && m.body.ends_with(b"7")),
        "{:?}",
        summaries(&msgs)
    );
}

fn parse_msg(name: &str, sql: &str) -> Vec<u8> {
    let mut b = format!("{name}\0{sql}\0").into_bytes();
    b.extend_from_slice(&0u16.to_be_bytes());
    message(b'P', &b)
}

fn bind_msg(portal: &str, stmt: &str) -> Vec<u8> {
    let mut b = format!("{portal}\0{stmt}\0").into_bytes();
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // no formats, no params, no result formats
    message(b'B', &b)
}

fn execute_msg(portal: &str, max_rows: i32) -> Vec<u8> {
    let mut b = format!("{portal}\0").into_bytes();
    b.extend_from_slice(&max_rows.to_be_bytes());
    message(b'E', &b)
}

fn tags(msgs: &[Msg]) -> String {
    msgs.iter().map(|m| m.tag as char).collect()
}

/// Portals live until Close or the end of their transaction: a named
/// portal that ran to completion can still be described, a suspended one
/// refuses to go on once its transaction failed, and COMMIT ends them.
#[test]
fn portals_follow_their_transaction() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    c.send(&query_message("BEGIN")).expect("send");
    c.read_until_ready();

    // Run "p1" to completion, then describe it: still there.
    let mut out = parse_msg("s1", "SELECT 1");
    out.extend(bind_msg("p1", "s1"));
    out.extend(execute_msg("p1", 0));
    out.extend(message(b'D', b"Pp1\0"));
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "12DCTZ", "{:?}", summaries(&msgs));

    // A suspended portal over pg_stat_activity's rows (at least the
    // checkpointer's and ours), then an error fails the transaction:
    // the portal may not go on.
    let mut out = parse_msg("s2", "SELECT pid FROM pg_stat_activity");
    out.extend(bind_msg("p2", "s2"));
    out.extend(execute_msg("p2", 1));
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "12DsZ", "{:?}", summaries(&msgs));
    c.send(&query_message("SELECT 1/0")).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(
        msgs.last().map(|m| m.body.clone()),
        Some(b"E".to_vec()),
        "{:?}",
        summaries(&msgs)
    );
    let mut out = execute_msg("p2", 1);
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    let err = msgs
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("{:?}", summaries(&msgs)));
    assert_eq!(err.field(b'C').as_deref(), Some("25P02"));

    // ROLLBACK ends the transaction and its portals.
    c.send(&query_message("ROLLBACK")).expect("send");
    c.read_until_ready();
    let mut out = message(b'D', b"Pp1\0");
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    let err = msgs
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("{:?}", summaries(&msgs)));
    assert_eq!(
        err.field(b'C').as_deref(),
        Some("34000"),
        "{:?}",
        summaries(&msgs)
    );
}

/// A simple Query that is not valid UTF-8 gets an ERROR and ReadyForQuery,
/// and the session goes on (an extended-query message would skip to Sync).
#[test]
fn invalid_utf8_in_a_simple_query() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    c.send(&message(b'Q', b"SELECT \xed\xa0\x80 1\0"))
        .expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "EZ", "{:?}", summaries(&msgs));
    assert_eq!(msgs[0].field(b'C').as_deref(), Some("22021"));
    c.send(&query_message("SELECT 5")).expect("send");
    let msgs = c.read_until_ready();
    assert!(
        msgs.iter().any(|m| m.tag == b'D' && m.body.ends_with(b"5")),
        "{:?}",
        summaries(&msgs)
    );
}

/// The text value of a one-column DataRow.
fn data_value(m: &Msg) -> String {
    assert_eq!(m.tag, b'D', "not a DataRow");
    String::from_utf8_lossy(&m.body[6..]).into_owned()
}

/// Execute with a row limit: 1000 rows of generate_series fetched 10 at a
/// time, each batch followed by PortalSuspended, the rows in order and
/// none twice; rows that end exactly at a limit leave the portal
/// suspended and the next Execute completes with "SELECT 0" (PostgreSQL
/// does not look ahead); a remainder completes with its own count.
#[test]
fn execute_with_a_row_limit_resumes_the_portal() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    let mut out = parse_msg("", "SELECT * FROM generate_series(1, 1000)");
    out.extend(bind_msg("", ""));
    for _ in 0..101 {
        out.extend(execute_msg("", 10));
    }
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    let mut want = String::from("12");
    for _ in 0..100 {
        want.push_str(&"D".repeat(10));
        want.push('s');
    }
    want.push_str("CZ");
    assert_eq!(tags(&msgs), want);
    let values: Vec<String> = msgs
        .iter()
        .filter(|m| m.tag == b'D')
        .map(data_value)
        .collect();
    let expected: Vec<String> = (1..=1000).map(|i| i.to_string()).collect();
    assert_eq!(values, expected);
    let done = &msgs[msgs.len() - 2];
    assert_eq!(done.command_tag().as_deref(), Some("SELECT 0"));

    // 25 rows by 10: 10, 10, then 5 and "SELECT 5"; the portal is then
    // finished and answers "SELECT 0".
    let mut out = parse_msg("", "SELECT g FROM generate_series(1, 25) AS g");
    out.extend(bind_msg("p", ""));
    for _ in 0..4 {
        out.extend(execute_msg("p", 10));
    }
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    let want = format!("12{0}s{0}s{1}CCZ", "D".repeat(10), "D".repeat(5));
    assert_eq!(tags(&msgs), want);
    let completions: Vec<String> = msgs.iter().filter_map(Msg::command_tag).collect();
    assert_eq!(completions, ["SELECT 5", "SELECT 0"]);
    let values: Vec<String> = msgs
        .iter()
        .filter(|m| m.tag == b'D')
        .map(data_value)
        .collect();
    assert_eq!(values.last().map(String::as_str), Some("25"));

    // Sync ended the implicit transaction, and its portals with it.
    let mut out = execute_msg("p", 10);
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "EZ", "{:?}", summaries(&msgs));
    assert_eq!(msgs[0].field(b'C').as_deref(), Some("34000"));

    // In a block a suspended portal survives Sync, goes on from where it
    // stopped, and is gone after Close.
    c.send(&query_message("BEGIN")).expect("send");
    c.read_until_ready();
    let mut out = parse_msg("s", "SELECT * FROM generate_series(1, 2000000000)");
    out.extend(bind_msg("big", "s"));
    out.extend(execute_msg("big", 3));
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "12DDDsZ", "{:?}", summaries(&msgs));
    let mut out = execute_msg("big", 2);
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "DDsZ", "{:?}", summaries(&msgs));
    let values: Vec<String> = msgs
        .iter()
        .filter(|m| m.tag == b'D')
        .map(data_value)
        .collect();
    assert_eq!(values, ["4", "5"]);
    let mut out = message(b'C', b"Pbig\0");
    out.extend(execute_msg("big", 2));
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "3EZ", "{:?}", summaries(&msgs));
    assert_eq!(msgs[1].field(b'C').as_deref(), Some("34000"));
    c.send(&query_message("ROLLBACK")).expect("send");
    c.read_until_ready();

    // The simple protocol streams the same executor: a LIMIT over a
    // two-billion-row series answers at once.
    c.send(&query_message(
        "SELECT * FROM generate_series(1, 2000000000) LIMIT 3",
    ))
    .expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "TDDDCZ", "{:?}", summaries(&msgs));
    assert_eq!(msgs[4].command_tag().as_deref(), Some("SELECT 3"));
}

/// A suspended portal resumed after Sync works under statement_timeout
/// again (PostgreSQL arms it for each message batch): fetching the rest of
/// a series whose next match is two billion rows away is cancelled with
/// 57014, and the block is then failed.
#[test]
fn a_resumed_portal_runs_under_statement_timeout() {
    let srv = TestServer::start(Opts::new());
    let (mut c, _) = srv.raw_session();
    c.send(&query_message("BEGIN; SET statement_timeout = '300ms'"))
        .expect("send");
    c.read_until_ready();
    let mut out = parse_msg(
        "",
        "SELECT g FROM generate_series(1, 2000000000) AS g WHERE g < 4 OR g = 2000000000",
    );
    out.extend(bind_msg("far", ""));
    out.extend(execute_msg("far", 3));
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "12DDDsZ", "{:?}", summaries(&msgs));
    let mut out = execute_msg("far", 1);
    out.extend(message(b'S', b""));
    c.send(&out).expect("send");
    let msgs = c.read_until_ready();
    assert_eq!(tags(&msgs), "EZ", "{:?}", summaries(&msgs));
    assert_eq!(msgs[0].field(b'C').as_deref(), Some("57014"));
    assert_eq!(
        msgs[0].field(b'M').as_deref(),
        Some("canceling statement due to statement timeout")
    );
    assert_eq!(msgs[1].body, b"E".to_vec(), "the block has failed");
}
