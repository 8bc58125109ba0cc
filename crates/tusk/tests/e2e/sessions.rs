//! Sessions seen from outside: the connection limit, query cancel,
//! pg_terminate_backend, and pg_stat_activity.

use crate::util::{
    backend_pid, dead_pid, describe_error, expect_sqlstate, query_message, simple_rows,
    simple_value, summaries, wait_for, wait_until, Opts, Proc, TestServer, Via,
};
use std::time::{Duration, Instant};

#[test]
fn too_many_connections() {
    let srv = TestServer::start(
        Opts::new()
            .set("max_connections", "5")
            .set("superuser_reserved_connections", "0"),
    );
    let mut held: Vec<postgres::Client> = (0..5).map(|_| srv.connect()).collect();
    for c in held.iter_mut() {
        assert_eq!(simple_value(c, "SELECT 1").as_deref(), Some("1"));
    }
    let e = match srv.try_connect() {
        Ok(_) => panic!("a 6th session was accepted with max_connections = 5"),
        Err(e) => e,
    };
    let db = e
        .as_db_error()
        .unwrap_or_else(|| panic!("expected FATAL 53300, got {}", describe_error(&e)));
    assert_eq!(db.code().code(), "53300", "{}", describe_error(&e));
    assert_eq!(db.severity(), "FATAL");
    assert_eq!(db.message(), "sorry, too many clients already");

    // A session that ends gives its slot back.
    drop(held.pop());
    let again = wait_for(Duration::from_secs(10), || srv.try_connect().ok());
    let mut again = again.expect("a slot freed by a closed session is reused");
    assert_eq!(simple_value(&mut again, "SELECT 1").as_deref(), Some("1"));
    expect_sqlstate(srv.try_connect().map(|_| ()), &["53300"]);
    for c in held.iter_mut() {
        assert_eq!(
            simple_value(c, "SELECT 2").as_deref(),
            Some("2"),
            "the held sessions are unaffected"
        );
    }
}

/// Not in the list (it assumed there is no ordinary role yet):
/// the bootstrap catalog `global/pg_authid` takes `f` roles, so the
/// reserved-slot rule can be tested with one.
#[test]
fn reserved_slots_for_superusers() {
    let mut srv = TestServer::init(
        Opts::new()
            .set("max_connections", "5")
            .set("superuser_reserved_connections", "2"),
    );
    let authid = srv.data_dir().join("global").join("pg_authid");
    let mut text = std::fs::read_to_string(&authid).expect("read pg_authid");
    text.push_str("16385 alice f\n");
    std::fs::write(&authid, text).expect("write pg_authid");
    srv.start_postmaster();

    let mut alices = Vec::new();
    for i in 0..3 {
        let mut c = srv
            .try_connect_as("alice")
            .unwrap_or_else(|e| panic!("alice #{i}: {}", describe_error(&e)));
        assert_eq!(
            simple_value(&mut c, "SHOW is_superuser").as_deref(),
            Some("off")
        );
        alices.push(c);
    }
    let e = expect_sqlstate(srv.try_connect_as("alice").map(|_| ()), &["53300"]);
    assert_eq!(
        e.message(),
        "remaining connection slots are reserved for non-replication superuser connections"
    );
    let supers: Vec<postgres::Client> = (0..2).map(|_| srv.connect()).collect();
    let e = expect_sqlstate(srv.try_connect().map(|_| ()), &["53300"]);
    assert_eq!(e.message(), "sorry, too many clients already");
    drop(supers);
    drop(alices);
}

#[test]
fn cancel_pg_sleep() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let pid = backend_pid(&mut c);
    let token = c.cancel_token();
    let mut watcher = srv.connect();
    let canceller = std::thread::spawn(move || {
        let sleeping = wait_until(Duration::from_secs(10), || {
            simple_rows(
                &mut watcher,
                &format!("SELECT wait_event FROM pg_stat_activity WHERE pid = {pid}"),
            ) == vec![vec![Some("PgSleep".to_string())]]
        });
        let sent = Instant::now();
        let r = token
            .cancel_query(postgres::NoTls)
            .map_err(|e| e.to_string());
        (sleeping, sent, r)
    });
    let start = Instant::now();
    let r = c.simple_query("SELECT pg_sleep(30)");
    let returned = Instant::now();
    let (sleeping, sent, cancel_result) = canceller.join().expect("canceller thread");
    assert!(
        sleeping,
        "pg_stat_activity never showed the session in PgSleep"
    );
    assert_eq!(cancel_result, Ok(()));
    let e = expect_sqlstate(r, &["57014"]);
    assert_eq!(e.severity(), "ERROR");
    assert_eq!(e.message(), "canceling statement due to user request");
    assert!(
        returned.saturating_duration_since(sent) < Duration::from_secs(2),
        "the cancel took {:?}",
        returned.saturating_duration_since(sent)
    );
    assert!(returned - start < Duration::from_secs(15));
    // The session goes on, in the same process.
    assert_eq!(backend_pid(&mut c), pid);
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    // A cancel that arrives while idle does not hit the next statement.
    // On a raw session, with the cancel request read to EOF: the server
    // closes the cancel connection only after signalling the backend, so
    // the signal has surely arrived before SELECT 2 is sent. (postgres'
    // cancel_query returns as soon as it has sent the request, which
    // would race with SELECT 2, and its token does not expose the key.)
    let (mut s, startup) = srv.raw_session();
    let k = startup
        .iter()
        .find(|m| m.tag == b'K')
        .expect("BackendKeyData");
    let mut p = 16u32.to_be_bytes().to_vec();
    p.extend_from_slice(&80877102u32.to_be_bytes());
    p.extend_from_slice(&k.body[..8]);
    let mut cancel = srv.raw();
    cancel.send(&p).expect("send idle cancel request");
    assert_eq!(
        cancel
            .read_to_eof()
            .map(|m| m.len())
            .map_err(|(e, _)| e.to_string()),
        Ok(0),
        "a cancel request gets no reply"
    );
    s.send(&query_message("SELECT 2")).expect("send");
    let msgs = s.read_until_ready();
    assert!(
        msgs.iter().all(|m| m.tag != b'E'),
        "the idle cancel hit the next statement: {:?}",
        summaries(&msgs)
    );
    assert!(msgs.iter().any(|m| m.tag == b'D'), "{:?}", summaries(&msgs));
}

/// The cancel key is checked: a wrong key is logged and ignored, the right
/// one cancels. Raw protocol, because drivers never send a wrong key.
#[test]
fn cancel_request_needs_the_right_key() {
    let srv = TestServer::start(Opts::new());
    let (mut s, startup) = srv.raw_session();
    let k = startup
        .iter()
        .find(|m| m.tag == b'K')
        .expect("BackendKeyData");
    let pid = i32::from_be_bytes([k.body[0], k.body[1], k.body[2], k.body[3]]);
    let key = u32::from_be_bytes([k.body[4], k.body[5], k.body[6], k.body[7]]);
    s.send(&query_message("SELECT pg_sleep(30)")).expect("send");
    let mut watcher = srv.connect();
    let activity = |w: &mut postgres::Client| {
        simple_rows(
            w,
            &format!("SELECT state, wait_event FROM pg_stat_activity WHERE pid = {pid}"),
        )
    };
    let sleeping = vec![vec![
        Some("active".to_string()),
        Some("PgSleep".to_string()),
    ]];
    assert!(
        wait_until(Duration::from_secs(10), || activity(&mut watcher)
            == sleeping),
        "not sleeping: {:?}",
        activity(&mut watcher)
    );

    let cancel = |key: u32| {
        let mut p = 16u32.to_be_bytes().to_vec();
        p.extend_from_slice(&80877102u32.to_be_bytes());
        p.extend_from_slice(&pid.to_be_bytes());
        p.extend_from_slice(&key.to_be_bytes());
        let mut c = srv.raw();
        c.send(&p).expect("send cancel request");
        // Nothing is ever sent back; the server just closes.
        let got = c
            .read_to_eof()
            .map_err(|(e, m)| format!("{e}: {:?}", summaries(&m)));
        assert_eq!(
            got.map(|m| m.len()),
            Ok(0),
            "a cancel request gets no reply"
        );
    };
    cancel(key ^ 0x5a5a_5a5a);
    assert!(
        wait_until(Duration::from_secs(5), || srv.log().contains(&format!(
            "wrong key in cancel request for process {pid}"
        ))),
        "the wrong key was not logged"
    );
    assert_eq!(
        activity(&mut watcher),
        sleeping,
        "a wrong key must not cancel"
    );

    let sent = Instant::now();
    cancel(key);
    let msgs = s.read_until_ready();
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "the cancel took {:?}",
        sent.elapsed()
    );
    let e = msgs
        .iter()
        .find(|m| m.tag == b'E')
        .unwrap_or_else(|| panic!("no error: {:?}", summaries(&msgs)));
    assert_eq!(e.field(b'C').as_deref(), Some("57014"), "{}", e.summary());
    assert_eq!(msgs.last().map(|m| m.body.clone()), Some(b"I".to_vec()));
}

#[test]
fn terminate_backend() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut b = srv.connect();
    let mut c = srv.connect_unix();
    let bpid = backend_pid(&mut b);
    let bproc = Proc::of(bpid).expect("B's backend process");

    assert_eq!(
        simple_value(&mut a, &format!("SELECT pg_terminate_backend({bpid})")).as_deref(),
        Some("t")
    );
    assert!(
        wait_until(Duration::from_secs(5), || !bproc.is_running()),
        "backend {bpid} still runs after pg_terminate_backend"
    );

    match b.simple_query("SELECT 1") {
        Ok(m) => panic!("the terminated session still answers: {m:?}"),
        Err(e) => match e.as_db_error() {
            Some(db) => {
                assert_eq!(db.code().code(), "57P01", "{}", describe_error(&e));
                assert_eq!(
                    db.message(),
                    "terminating connection due to administrator command"
                );
            }
            None => assert!(
                e.is_closed() || b.is_closed(),
                "expected 57P01 or a closed connection, got {}",
                describe_error(&e)
            ),
        },
    }
    assert_eq!(
        simple_value(&mut a, "SELECT 1").as_deref(),
        Some("1"),
        "A goes on"
    );
    assert_eq!(
        simple_value(&mut c, "SELECT 2").as_deref(),
        Some("2"),
        "C goes on"
    );

    // Not a backend: a dead PID, and the postmaster itself.
    assert_eq!(
        simple_value(
            &mut a,
            &format!("SELECT pg_terminate_backend({})", dead_pid())
        )
        .as_deref(),
        Some("f")
    );
    assert_eq!(
        simple_value(
            &mut a,
            &format!("SELECT pg_terminate_backend({})", srv.pm_pid())
        )
        .as_deref(),
        Some("f")
    );
    let mut srv = srv;
    assert!(srv.is_running(), "the postmaster must survive");
    assert!(
        srv.log()
            .contains("terminating connection due to administrator command"),
        "{}",
        srv.log()
    );
    assert!(
        !srv.log()
            .contains("terminating any other active server processes"),
        "a terminate is not a crash:\n{}",
        srv.log()
    );
    assert_eq!(simple_value(&mut c, "SELECT 3").as_deref(), Some("3"));
}

/// What the terminated client receives, byte for byte: FATAL 57P01, then EOF.
#[test]
fn terminate_backend_raw() {
    let srv = TestServer::start(Opts::new());
    let (mut b, startup) = srv.raw_session();
    let k = startup
        .iter()
        .find(|m| m.tag == b'K')
        .expect("BackendKeyData");
    let bpid = i32::from_be_bytes([k.body[0], k.body[1], k.body[2], k.body[3]]);
    let mut a = srv.connect();
    assert_eq!(
        simple_value(&mut a, &format!("SELECT pg_terminate_backend({bpid})")).as_deref(),
        Some("t")
    );
    let msgs = b
        .read_to_eof()
        .unwrap_or_else(|(e, m)| panic!("no EOF after terminate: {e}: {:?}", summaries(&m)));
    assert_eq!(msgs.len(), 1, "{:?}", summaries(&msgs));
    assert_eq!(msgs[0].tag, b'E');
    assert_eq!(msgs[0].field(b'S').as_deref(), Some("FATAL"));
    assert_eq!(msgs[0].field(b'C').as_deref(), Some("57P01"));
    assert_eq!(
        msgs[0].field(b'M').as_deref(),
        Some("terminating connection due to administrator command")
    );
}

#[test]
fn pg_stat_activity_shows_sessions() {
    let srv = TestServer::start(Opts::new());
    let mut s1 = srv
        .config(Via::Tcp)
        .application_name("e2e-s1")
        .connect(postgres::NoTls)
        .expect("s1");
    let s1pid = backend_pid(&mut s1);
    let mut s2 = srv.connect_unix();
    let s2pid = backend_pid(&mut s2);
    let mut s3 = srv.connect();
    let s3pid = backend_pid(&mut s3);

    // This session: active, running exactly this text.
    let sql = "SELECT pid, usename, application_name, state, query, backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()";
    let rows = simple_rows(&mut s1, sql);
    let expected = vec![vec![
        Some(s1pid.to_string()),
        Some("postgres".to_string()),
        Some("e2e-s1".to_string()),
        Some("active".to_string()),
        Some(sql.to_string()),
        Some("client backend".to_string()),
    ]];
    assert_eq!(rows, expected);

    // An idle session: state idle, its last query, waiting on ClientRead
    // (extended protocol, $1).
    let row = s1
        .query_one("SELECT state, query, datname, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = $1", &[&s2pid])
        .unwrap_or_else(|e| panic!("{}", describe_error(&e)));
    let text = |i: usize| row.get::<_, Option<String>>(i);
    assert_eq!(text(0).as_deref(), Some("idle"));
    assert_eq!(text(1).as_deref(), Some("SELECT pg_backend_pid()"));
    assert_eq!(text(2).as_deref(), Some("postgres"));
    // An idle backend waits for its client.
    assert_eq!(
        (text(3).as_deref(), text(4).as_deref()),
        (Some("Client"), Some("ClientRead"))
    );

    // A sleeping session: active, waiting on PgSleep (type Timeout).
    let token = s3.cancel_token();
    let sleeper = std::thread::spawn(move || {
        let r = s3.simple_query("SELECT pg_sleep(30)").map(|_| ());
        (s3, r)
    });
    let q = format!("SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity WHERE pid = {s3pid}");
    let want = vec![vec![
        Some("active".to_string()),
        Some("Timeout".to_string()),
        Some("PgSleep".to_string()),
        Some("SELECT pg_sleep(30)".to_string()),
    ]];
    let seen = wait_until(Duration::from_secs(10), || simple_rows(&mut s1, &q) == want);
    let last = simple_rows(&mut s1, &q);
    token
        .cancel_query(postgres::NoTls)
        .expect("cancel the sleeper");
    let (mut s3, r) = sleeper.join().expect("sleeper thread");
    assert!(
        seen,
        "the sleeping session was never shown as {want:?}; last seen {last:?}"
    );
    expect_sqlstate(r, &["57014"]);
    // After the cancel: idle again, still showing its last query.
    let q = format!("SELECT state, wait_event, query FROM pg_stat_activity WHERE pid = {s3pid}");
    let want_idle = vec![vec![
        Some("idle".to_string()),
        Some("ClientRead".to_string()),
        Some("SELECT pg_sleep(30)".to_string()),
    ]];
    assert!(
        wait_until(Duration::from_secs(5), || simple_rows(&mut s1, &q)
            == want_idle),
        "after the cancel: {:?}",
        simple_rows(&mut s1, &q)
    );

    // Exactly our three client backends; the checkpointer is listed with
    // its own backend_type and no session columns.
    let q = "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' ORDER BY pid";
    let mut want: Vec<Vec<Option<String>>> = [s1pid, s2pid, s3pid]
        .iter()
        .map(|p| vec![Some(p.to_string())])
        .collect();
    want.sort_by_key(|r| r[0].as_ref().map(|p| p.parse::<i32>().unwrap_or(0)));
    assert!(
        wait_until(Duration::from_secs(5), || simple_rows(&mut s1, q) == want),
        "client backends: {:?}",
        simple_rows(&mut s1, q)
    );
    let ck = simple_rows(
        &mut s1,
        "SELECT usename, state FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
    );
    assert_eq!(ck, vec![vec![None, None]], "the checkpointer row");
    // The walwriter, asleep between rounds (a round is a few
    // microseconds; wait out the rare look taken inside one).
    let q = "SELECT usename, state, wait_event_type, wait_event FROM pg_stat_activity WHERE backend_type = 'walwriter'";
    let want_ww = vec![vec![
        None,
        None,
        Some("Activity".to_string()),
        Some("WalWriterMain".to_string()),
    ]];
    assert!(
        wait_until(Duration::from_secs(5), || simple_rows(&mut s1, q)
            == want_ww),
        "the walwriter row: {:?}",
        simple_rows(&mut s1, q)
    );
    assert_eq!(simple_value(&mut s3, "SELECT 1").as_deref(), Some("1"));
    drop(s2);
}

/// What `ps` shows for a process: /proc/PID/cmdline without its NUL
/// padding, the separators between arguments shown as spaces.
fn ps_title(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw)
        .trim_end_matches('\0')
        .replace('\0', " ")
}

/// Issue 14 point 8: process titles as PostgreSQL's update_process_title
/// makes them, read from /proc/PID/cmdline of the running server's
/// children: the checkpointer, a session idle / in a transaction / running
/// a SELECT, connections still before their startup packet, a dead-end
/// child, all with cluster_name; the postmaster keeps its command line.
#[test]
fn process_titles_show_what_each_child_does() {
    let srv = TestServer::start(
        Opts::new()
            .set("cluster_name", "main")
            .set("max_connections", "4")
            .set("superuser_reserved_connections", "1"),
    );
    let pm = srv.pm_pid();
    let pm_title = ps_title(pm);
    assert!(
        pm_title.starts_with(crate::util::TUSK) && pm_title.contains(" server -D "),
        "the postmaster's command line: {pm_title:?}"
    );
    let titles = || -> Vec<(i32, String)> {
        srv.children()
            .iter()
            .map(|p| (p.pid, ps_title(p.pid)))
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(10), || titles()
            .iter()
            .any(|(_, t)| t == "tusk: main: checkpointer")),
        "no checkpointer title among {:?}",
        titles()
    );
    assert!(
        wait_until(Duration::from_secs(10), || titles()
            .iter()
            .any(|(_, t)| t == "tusk: main: walwriter")),
        "no walwriter title among {:?}",
        titles()
    );

    let (mut a, msgs) = srv.raw_session();
    let key = msgs
        .iter()
        .find(|m| m.tag == b'K')
        .unwrap_or_else(|| panic!("no BackendKeyData: {:?}", summaries(&msgs)));
    let pid = i32::from_be_bytes([key.body[0], key.body[1], key.body[2], key.body[3]]);
    let base = format!(
        "tusk: main: postgres postgres 127.0.0.1({})",
        a.local_port()
    );
    let expect = |want: String| {
        assert!(
            wait_until(Duration::from_secs(10), || ps_title(pid) == want),
            "backend {pid}: {:?}, expected {want:?}",
            ps_title(pid)
        );
    };
    expect(format!("{base} idle"));
    a.send(&query_message("BEGIN")).expect("send BEGIN");
    a.read_until_ready();
    expect(format!("{base} idle in transaction"));
    a.send(&query_message("SELECT pg_sleep(600)"))
        .expect("send pg_sleep");
    expect(format!("{base} SELECT"));

    // update_process_title = off: the title stays at what it showed last,
    // as PostgreSQL 15's does ("SET", not "idle in transaction"). The
    // title is written before ReadyForQuery is sent, so no wait is needed.
    let (mut b, msgs) = srv.raw_session();
    let key = msgs.iter().find(|m| m.tag == b'K').expect("BackendKeyData");
    let b_pid = i32::from_be_bytes([key.body[0], key.body[1], key.body[2], key.body[3]]);
    let b_base = format!(
        "tusk: main: postgres postgres 127.0.0.1({})",
        b.local_port()
    );
    b.send(&query_message("SET update_process_title = off"))
        .expect("send SET");
    b.read_until_ready();
    assert_eq!(ps_title(b_pid), format!("{b_base} SET"));
    b.send(&query_message("BEGIN")).expect("send BEGIN");
    b.read_until_ready();
    assert_eq!(ps_title(b_pid), format!("{b_base} SET"));

    // 2 sessions + 6 silent connections fill 2 × max_connections
    // backends; the 9th connection gets a dead-end child.
    let silent: Vec<std::net::TcpStream> = (0..7)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", srv.port())).expect("connect"))
        .collect();
    for (i, s) in silent.iter().enumerate() {
        let port = s.local_addr().expect("local_addr").port();
        let want = if i < 6 {
            format!("tusk: main: 127.0.0.1({port}) initializing")
        } else {
            format!("tusk: main: dead-end 127.0.0.1({port})")
        };
        assert!(
            wait_until(Duration::from_secs(10), || titles()
                .iter()
                .any(|(_, t)| *t == want)),
            "no child titled {want:?} among {:?}",
            titles()
        );
    }
    // The postmaster's own title never changed.
    assert_eq!(ps_title(pm), pm_title);
    drop(silent);
}

/// Signals wake a backend through its latch and never touch its
/// semaphore, which is for LWLock hand-off only: after reloads, an idle
/// cancel and a cancelled pg_sleep, every semaphore of the server is
/// still 0 (each signal used to leave a +1 behind).
#[test]
fn signals_leave_the_semaphores_alone() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    let pid = backend_pid(&mut c);
    for _ in 0..3 {
        assert!(crate::util::signal(pid, libc::SIGHUP));
    }
    assert!(crate::util::signal(pid, libc::SIGINT));
    // The backend serviced them: the idle cancel did not hit this query.
    assert_eq!(simple_value(&mut c, "SELECT 1").as_deref(), Some("1"));
    let token = c.cancel_token();
    let mut watcher = srv.connect();
    let canceller = std::thread::spawn(move || {
        let sleeping = wait_until(Duration::from_secs(10), || {
            simple_rows(
                &mut watcher,
                &format!("SELECT wait_event FROM pg_stat_activity WHERE pid = {pid}"),
            ) == vec![vec![Some("PgSleep".to_string())]]
        });
        (sleeping, token.cancel_query(postgres::NoTls).is_ok())
    });
    expect_sqlstate(c.simple_query("SELECT pg_sleep(30)"), &["57014"]);
    assert_eq!(canceller.join().expect("canceller"), (true, true));
    let ipc = srv.our_ipc();
    assert!(!ipc.sem_sets.is_empty());
    for info in &ipc.sem_sets {
        let set = tusk_ipc::SemSet::open(info.id).expect("open the server's semaphore set");
        for n in 0..set.nsems() {
            assert_eq!(
                set.value(n).expect("GETVAL"),
                0,
                "semaphore {n} of set {} was V'd",
                info.id
            );
        }
    }
}
