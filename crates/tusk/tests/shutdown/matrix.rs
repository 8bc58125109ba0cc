//! The three shutdown modes × what a client is doing: idle, inside a
//! transaction, sleeping in `pg_sleep`, or connecting during the
//! shutdown. Each case asserts what the client was told (severity,
//! SQLSTATE, message), the postmaster's exit code, pg_control's state,
//! and that no process, segment, semaphore set, lock file or socket file
//! of the server remains.
//!
//! "Nothing of the open transaction became visible" cannot be observed
//! yet: tusk has no tables, and the only thing a transaction can change
//! (a setting) is local to its session, which ends with the server. The
//! cases with an open transaction therefore check what can be checked:
//! the session was ended (fast, immediate) or could still commit (smart).

use crate::harness::{
    assert_no_reports, assert_told, connect_during, holds_for, refused_connection, session, small,
    wait_sleeping, Resources,
};
use crate::util::{TestServer, STOP_TIMEOUT};
use std::time::{Duration, Instant};
use tusk_storage::control::{ControlFileData, DbState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Smart,
    Fast,
    Immediate,
}

impl Mode {
    fn signal(self) -> i32 {
        match self {
            Mode::Smart => libc::SIGTERM,
            Mode::Fast => libc::SIGINT,
            Mode::Immediate => libc::SIGQUIT,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    Idle,
    InTransaction,
    InSleep,
    Connecting,
}

const FAST_TEXT: &str = "terminating connection due to administrator command";
const IMMEDIATE_TEXT: &str = "terminating connection due to immediate shutdown command";
const SHUTTING_DOWN: &str = "the database system is shutting down";

/// Waits until line 8 of postmaster.pid says `stopping`.
fn wait_stopping(srv: &TestServer) {
    let ok = crate::util::wait_until(Duration::from_secs(10), || {
        srv.lock_line(8).is_some_and(|l| l.trim() == "stopping")
    });
    assert!(
        ok,
        "postmaster.pid never said \"stopping\" (line 8: {:?})\n{}",
        srv.lock_line(8),
        srv.log()
    );
}

fn case(mode: Mode, client: Client) {
    let mut srv = TestServer::start(small());
    let port = srv.port();
    let data = srv.data_dir().to_path_buf();
    let sock = srv.socket_dir().to_path_buf();

    // The session the case is about (none for Connecting in fast and
    // immediate mode: the late connection is the client there).
    let mut s = match (mode, client) {
        (Mode::Smart, Client::Connecting) => Some(session(port, "holder")),
        (_, Client::Connecting) => None,
        _ => Some(session(port, "subject")),
    };
    match client {
        Client::InTransaction => {
            let s = s.as_mut().expect("session");
            s.ok("BEGIN");
            s.ok("SET LOCAL application_name = 'inside'");
        }
        Client::InSleep => {
            let s = s.as_mut().expect("session");
            s.send(if mode == Mode::Smart {
                "SELECT pg_sleep(2)"
            } else {
                "SELECT pg_sleep(600)"
            });
            wait_sleeping(&data, s.pid);
        }
        _ => {}
    }
    let inventory = Resources::capture(&data, &sock, port);
    let signalled = Instant::now();
    let mut smart_exit = None;

    let late = if client == Client::Connecting && mode != Mode::Smart {
        Some(connect_during(srv.pm_pid(), port, mode.signal()))
    } else {
        srv.signal_postmaster(mode.signal());
        None
    };

    match mode {
        Mode::Smart => {
            wait_stopping(&srv);
            let sess = s.as_mut().expect("session");
            // Smart waits: the server stays up while the session lives.
            holds_for(
                Duration::from_secs(1),
                "the server running during a smart shutdown with a live session",
                || srv.is_running(),
            );
            match client {
                Client::Idle => {
                    // New transactions are still allowed.
                    sess.ok("BEGIN");
                    assert_eq!(sess.ok("SELECT 1"), vec![vec![Some("1".to_string())]]);
                    sess.ok("COMMIT");
                }
                Client::InTransaction => {
                    assert_eq!(
                        sess.ok("SHOW application_name"),
                        vec![vec![Some("inside".to_string())]]
                    );
                    sess.ok("COMMIT");
                }
                Client::InSleep => {
                    // pg_sleep(2) ends normally: smart never interrupts.
                    let msgs = sess.conn.read_until_ready();
                    assert_no_reports(&msgs);
                    assert!(
                        msgs.iter().any(|m| m.tag == b'D'),
                        "pg_sleep returned no row: {:?}",
                        crate::util::summaries(&msgs)
                    );
                }
                Client::Connecting => {
                    let msgs = refused_connection(port);
                    assert_told(&msgs, b'E', "FATAL", "57P03", SHUTTING_DOWN);
                    assert!(
                        srv.is_running(),
                        "a refused connection ended the smart shutdown"
                    );
                }
            }
            assert!(
                srv.is_running(),
                "the server stopped while a session was still open\n{}",
                srv.log()
            );
            // Once the last session closes, the server exits promptly.
            let bye = s.take().expect("session").terminate();
            assert_no_reports(&bye);
            let st = srv.wait_exit(Duration::from_secs(5));
            assert!(
                st.is_some(),
                "the server did not exit within 5 s of the last session closing\n{}",
                srv.log()
            );
            smart_exit = st;
        }
        Mode::Fast | Mode::Immediate => {
            let (tag, severity, text) = if mode == Mode::Fast {
                (b'E', "FATAL", FAST_TEXT)
            } else {
                (b'N', "WARNING", IMMEDIATE_TEXT)
            };
            if let Some(mut late) = late {
                let msgs = late.read_to_eof().unwrap_or_else(|(e, got)| {
                    panic!(
                        "late connection not closed: {e}; {:?}",
                        crate::util::summaries(&got)
                    )
                });
                assert_told(&msgs, b'E', "FATAL", "57P03", SHUTTING_DOWN);
            } else {
                let s = s.as_mut().expect("session");
                let msgs = s.read_to_eof();
                assert_told(&msgs, tag, severity, "57P01", text);
                // Even a session asleep in pg_sleep(600) is ended promptly.
                assert!(
                    signalled.elapsed() < Duration::from_secs(5),
                    "the session was ended only after {:?}",
                    signalled.elapsed()
                );
            }
        }
    }

    let st = smart_exit
        .or_else(|| srv.wait_exit(STOP_TIMEOUT))
        .unwrap_or_else(|| {
            panic!(
                "{mode:?}: the postmaster did not exit within {STOP_TIMEOUT:?}\n{}",
                srv.log()
            )
        });
    assert_eq!(
        st.code(),
        Some(0),
        "{mode:?}/{client:?}: postmaster exit status {st}\n{}",
        srv.log()
    );
    let log = srv.log();
    inventory.assert_all_gone(&log);
    let state = ControlFileData::read(&data).expect("pg_control").state();
    match mode {
        // No checkpoint: the next start must recover.
        Mode::Immediate => assert_eq!(
            state,
            DbState::InProduction,
            "pg_control after an immediate shutdown"
        ),
        _ => assert_eq!(
            state,
            DbState::Shutdowned,
            "pg_control after a {mode:?} shutdown\n{log}"
        ),
    }
    drop(s);
}

macro_rules! cases {
    ($($name:ident: $mode:ident, $client:ident;)*) => {
        $(
            #[test]
            fn $name() {
                let _serial = crate::serial_read();
                case(Mode::$mode, Client::$client);
            }
        )*
    };
}

cases! {
    smart_idle_session: Smart, Idle;
    smart_session_in_transaction: Smart, InTransaction;
    smart_session_in_pg_sleep: Smart, InSleep;
    smart_new_connection: Smart, Connecting;
    fast_idle_session: Fast, Idle;
    fast_session_in_transaction: Fast, InTransaction;
    fast_session_in_pg_sleep: Fast, InSleep;
    fast_new_connection: Fast, Connecting;
    immediate_idle_session: Immediate, Idle;
    immediate_session_in_transaction: Immediate, InTransaction;
    immediate_session_in_pg_sleep: Immediate, InSleep;
    immediate_new_connection: Immediate, Connecting;
}
