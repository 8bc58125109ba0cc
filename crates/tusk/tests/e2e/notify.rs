//! LISTEN / NOTIFY / UNLISTEN and pg_notify against the real binary
//! (issue 11 item 4): the statements run by psql 15 print what PostgreSQL
//! 15 prints (psql's "Asynchronous notification ..." lines, with the PID
//! masked): delivery at the end of each command, duplicates of one
//! transaction folded, nothing from a rolled-back transaction or
//! savepoint, a rolled-back LISTEN without effect, the channel and payload
//! limits (22023), UNLISTEN [*], DISCARD ALL, pg_listening_channels().
//! Then what psql cannot show: an idle listener is woken by a
//! notification (a raw protocol client, and the postgres crate's
//! notification stream), none arrives inside a transaction block until
//! it ends, a full queue fails the committing transaction with 54000,
//! pg_notification_queue_usage() follows the slowest listener, and a
//! listener that disconnects no longer holds the queue.
//!
//! The expected output is PostgreSQL 15's for notify.sql (`psql -X -A -t
//! -f`, script path in stderr replaced by SCRIPT, PIDs by N).

use crate::util::{exec, query_message, simple_value, wait_until, Msg, Opts, TestServer};
use postgres::fallible_iterator::FallibleIterator;
use std::time::Duration;

const SCRIPT: &str = include_str!("notify.sql");
const PG_STDOUT: &str = include_str!("notify.pg15.out");
const PG_STDERR: &str = include_str!("notify.pg15.err");

/// psql's notification lines with the sender's PID replaced by N.
fn mask_pids(s: &str) -> String {
    const AT: &str = "process with PID ";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(AT) {
        out.push_str(&rest[..i + AT.len()]);
        rest = rest[i + AT.len()..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}

#[test]
fn notify_statements_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "notify.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(mask_pids(&r.stdout), PG_STDOUT, "stdout: {}", r.describe());
    assert_eq!(
        crate::util::error_lines(&errs),
        PG_STDERR,
        "stderr: {}",
        r.describe()
    );
}

/// A NotificationResponse's (pid, channel, payload).
fn notification(m: &Msg) -> Option<(i32, String, String)> {
    if m.tag != b'A' || m.body.len() < 4 {
        return None;
    }
    let pid = i32::from_be_bytes([m.body[0], m.body[1], m.body[2], m.body[3]]);
    let mut parts = m.body[4..].split(|b| *b == 0);
    let channel = String::from_utf8_lossy(parts.next()?).into_owned();
    let payload = String::from_utf8_lossy(parts.next()?).into_owned();
    Some((pid, channel, payload))
}

#[test]
fn an_idle_listener_is_woken_and_a_block_delays_delivery() {
    let srv = TestServer::start(Opts::new());
    let (mut l, _) = srv.raw_session();
    l.send(&query_message("LISTEN wake")).unwrap();
    l.read_until_ready();
    let mut n = srv.connect();
    let n_pid = crate::util::backend_pid(&mut n);
    exec(&mut n, "NOTIFY wake, 'while idle'");
    // The listener sent nothing: the backend was woken on its socket wait.
    let m = l.read_msg().expect("read").expect("a message before EOF");
    assert_eq!(
        notification(&m),
        Some((n_pid, "wake".to_string(), "while idle".to_string())),
        "{}",
        m.summary()
    );
    // Inside a transaction block nothing is delivered until it ends.
    l.send(&query_message("BEGIN")).unwrap();
    l.read_until_ready();
    exec(&mut n, "NOTIFY wake, 'during block'");
    l.send(&query_message("SELECT 1")).unwrap();
    let msgs = l.read_until_ready();
    assert!(
        msgs.iter().all(|m| m.tag != b'A'),
        "{:?}",
        crate::util::summaries(&msgs)
    );
    l.send(&query_message("COMMIT")).unwrap();
    let msgs = l.read_until_ready();
    let got: Vec<_> = msgs.iter().filter_map(notification).collect();
    assert_eq!(
        got,
        vec![(n_pid, "wake".to_string(), "during block".to_string())]
    );
    // Delivered before ReadyForQuery, after CommandComplete.
    let tags: Vec<u8> = msgs.iter().map(|m| m.tag).collect();
    assert_eq!(tags, b"CAZ".to_vec());

    // The postgres crate's notification stream, on an idle client.
    let mut c = srv.connect();
    exec(&mut c, "LISTEN crate_channel");
    // Sent through the extended protocol: queued at Sync's commit.
    n.execute(
        "SELECT pg_notify($1, $2)",
        &[&"crate_channel", &"via pg_notify"],
    )
    .expect("pg_notify with parameters");
    let mut notes = c.notifications();
    let got = notes
        .timeout_iter(Duration::from_secs(10))
        .next()
        .expect("stream")
        .expect("a notification within 10 s");
    assert_eq!(
        (got.process_id(), got.channel(), got.payload()),
        (n_pid, "crate_channel", "via pg_notify")
    );
}

#[test]
fn a_full_queue_fails_the_commit_and_usage_follows_the_slowest_listener() {
    let srv = TestServer::start(Opts::new());
    let mut slow = srv.connect();
    let mut n = srv.connect();
    exec(&mut slow, "LISTEN q");
    exec(&mut slow, "BEGIN");
    let usage = |c: &mut postgres::Client| -> f64 {
        simple_value(c, "SELECT pg_notification_queue_usage()")
            .expect("usage")
            .parse()
            .expect("a float")
    };
    assert_eq!(usage(&mut n), 0.0);
    exec(
        &mut n,
        "SELECT pg_notify('q', repeat('x', 7990) || g) FROM generate_series(1, 50) g",
    );
    let used = usage(&mut n);
    assert!(used > 0.3 && used < 0.5, "usage {used}");
    // The slow listener, in its block, reads nothing: the queue fills up
    // and the committing transaction fails and rolls back, sending nothing
    // (ErrorResponse in place of COMMIT's CommandComplete, then idle).
    let (mut raw, _) = srv.raw_session();
    raw.send(&query_message(
        "BEGIN; SELECT pg_notify('q', repeat('y', 7990) || g) FROM generate_series(1, 100) g; COMMIT",
    ))
    .unwrap();
    let msgs = raw.read_until_ready();
    let tags: String = msgs.iter().map(|m| m.tag as char).collect();
    assert_eq!(tags, format!("CT{}CEZ", "D".repeat(100)));
    let err = &msgs[msgs.len() - 2];
    assert_eq!(err.field(b'C').as_deref(), Some("54000"));
    assert_eq!(
        err.field(b'M').as_deref(),
        Some("too many notifications in the NOTIFY queue")
    );
    assert_eq!(msgs[msgs.len() - 1].body, b"I".to_vec());
    assert_eq!(usage(&mut n), used);
    // Past half full, a committing NOTIFY is warned who holds the queue
    // (PostgreSQL's asyncQueueFillWarning, at most every 5 s).
    let slow_pid = crate::util::backend_pid(&mut slow);
    exec(
        &mut n,
        "SELECT pg_notify('q', repeat('x', 7990) || g) FROM generate_series(51, 80) g",
    );
    let (mut warned, _) = srv.raw_session();
    warned.send(&query_message("NOTIFY q, 'x81'")).unwrap();
    let msgs = warned.read_until_ready();
    let w = msgs
        .iter()
        .find(|m| m.tag == b'N')
        .unwrap_or_else(|| panic!("no warning: {:?}", crate::util::summaries(&msgs)));
    let text = w.field(b'M').unwrap_or_default();
    assert!(
        text.starts_with("NOTIFY queue is ") && text.ends_with("% full"),
        "{text}"
    );
    assert_eq!(w.field(b'V').as_deref(), Some("WARNING"));
    assert_eq!(
        w.field(b'D'),
        Some(format!(
            "The server process with PID {slow_pid} is among those with the oldest transactions."
        ))
    );
    assert_eq!(
        w.field(b'H').as_deref(),
        Some("The NOTIFY queue cannot be emptied until that process ends its current transaction.")
    );
    // Once the listener leaves its block it reads the 81, and the queue
    // empties.
    let got: Vec<String> = {
        exec(&mut slow, "COMMIT");
        let mut notes = slow.notifications();
        let mut v = Vec::new();
        let mut it = notes.iter();
        while let Some(n) = it.next().expect("notification") {
            v.push(n.payload().to_string());
        }
        v
    };
    assert_eq!(
        got.len(),
        81,
        "the listener got {} notifications",
        got.len()
    );
    assert!(got.iter().all(|p| p.starts_with('x')));
    assert_eq!(usage(&mut n), 0.0);

    // A listener that disconnects without reading holds nothing.
    let mut gone = srv.connect();
    exec(&mut gone, "LISTEN q");
    exec(&mut gone, "BEGIN");
    exec(&mut n, "NOTIFY q, 'unread'");
    assert!(usage(&mut n) > 0.0);
    drop(gone);
    assert!(
        wait_until(Duration::from_secs(10), || usage(&mut n) == 0.0),
        "the queue still holds what a disconnected listener did not read"
    );
}
