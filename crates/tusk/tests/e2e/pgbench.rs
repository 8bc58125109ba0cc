//! pgbench against tusk: initialization with client-side data generation
//! (COPY FROM STDIN) and VACUUM (`-I dtgv`), then a TPC-B run and a
//! select-only run from two clients, after which the TPC-B invariant must hold:
//! the sum of the deltas in pgbench_history equals the sum of the
//! balances of the accounts, the tellers and the branches.
//!
//! The default init (dtgvp, primary keys included) is followed by every
//! built-in script in every query mode.

use std::time::Duration;

use crate::util::{simple_value, Finished, Opts, TestServer};

fn pgbench(srv: &TestServer, args: &[&str]) -> Finished {
    let mut cmd = std::process::Command::new(crate::util::require_pg_program("pgbench"));
    crate::util::clean_pg_env(&mut cmd);
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &srv.port().to_string(),
        "-U",
        crate::util::SUPERUSER,
    ])
    .args(args)
    .arg(crate::util::DATABASE);
    crate::util::run_bounded(&mut cmd, Duration::from_secs(300))
}

fn check_balances(srv: &TestServer, transactions: u64) {
    let mut c = srv.connect();
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM pgbench_history"),
        Some(transactions.to_string())
    );
    let h = simple_value(&mut c, "SELECT sum(delta) FROM pgbench_history");
    for sql in [
        "SELECT sum(abalance) FROM pgbench_accounts",
        "SELECT sum(tbalance) FROM pgbench_tellers",
        "SELECT sum(bbalance) FROM pgbench_branches",
    ] {
        assert_eq!(simple_value(&mut c, sql), h, "{sql}");
    }
}

#[test]
fn pgbench_init_dtgv_then_tpcb_and_select_only() {
    let srv = TestServer::start(Opts::new());
    let init = pgbench(&srv, &["-i", "-I", "dtgv", "-s", "1", "-q"]);
    assert_eq!(init.code(), Some(0), "pgbench -i: {}", init.describe());
    assert!(init.stderr.contains("vacuuming..."), "{}", init.describe());
    let mut c = srv.connect();
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM pgbench_accounts").as_deref(),
        Some("100000")
    );
    assert_eq!(
        simple_value(&mut c, "SELECT sum(aid::int8) FROM pgbench_accounts").as_deref(),
        Some("5000050000")
    );
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM pgbench_tellers").as_deref(),
        Some("10")
    );
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM pgbench_branches").as_deref(),
        Some("1")
    );
    // TPC-B, 4 clients x 3 transactions; without -n pgbench first
    // vacuums the branches and tellers and truncates the history. All
    // four update the one branch row: a lost update would break the
    // invariant checked below.
    let run = pgbench(&srv, &["-c", "4", "-j", "2", "-t", "3"]);
    assert_eq!(run.code(), Some(0), "pgbench: {}", run.describe());
    assert!(
        run.stdout
            .contains("number of transactions actually processed: 12/12"),
        "{}",
        run.describe()
    );
    assert!(
        run.stdout.contains("number of failed transactions: 0"),
        "{}",
        run.describe()
    );
    check_balances(&srv, 12);
    // Select-only from 2 clients on 2 threads: reads alone, the balances
    // unchanged.
    let run = pgbench(&srv, &["-n", "-S", "-c", "2", "-j", "2", "-t", "5"]);
    assert_eq!(run.code(), Some(0), "pgbench -S: {}", run.describe());
    assert!(
        run.stdout
            .contains("number of transactions actually processed: 10/10"),
        "{}",
        run.describe()
    );
    check_balances(&srv, 12);
    // VACUUM FULL of the changed tables keeps every live row.
    let mut c = srv.connect();
    c.batch_execute("VACUUM FULL pgbench_accounts")
        .expect("VACUUM FULL");
    c.batch_execute("VACUUM").expect("VACUUM of the database");
    check_balances(&srv, 12);
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM pgbench_accounts").as_deref(),
        Some("100000")
    );
}

/// The default `pgbench -i` (steps dtgvp: primary keys through ALTER
/// TABLE ADD PRIMARY KEY), then every built-in script in every query mode
/// from 4 clients, each run checked: TPC-B keeps sum(abalance) =
/// sum(tbalance) = sum(bbalance) = sum(history.delta); simple-update
/// (-N) moves only accounts and history, so after it sum(abalance) =
/// sum(delta) and the tellers still equal the branches; select-only
/// changes nothing.
#[test]
fn pgbench_full_init_then_every_script_in_every_mode() {
    let srv = TestServer::start(Opts::new());
    let init = pgbench(&srv, &["-i", "-s", "1", "-q"]);
    assert_eq!(init.code(), Some(0), "pgbench -i: {}", init.describe());
    assert!(
        init.stderr.contains("creating primary keys..."),
        "{}",
        init.describe()
    );
    let mut c = srv.connect();
    assert_eq!(
        crate::util::simple_rows(
            &mut c,
            "SELECT relname FROM pg_class WHERE relkind = 'i' AND relnamespace = 2200 ORDER BY relname"
        ),
        [
            [Some("pgbench_accounts_pkey".to_string())],
            [Some("pgbench_branches_pkey".to_string())],
            [Some("pgbench_tellers_pkey".to_string())]
        ]
    );
    let sum = |c: &mut postgres::Client, sql: &str| simple_value(c, sql).unwrap_or_default();
    let mut done = 0;
    for (script, args) in [
        ("tpcb-like", &[][..]),
        ("simple-update", &["-N"][..]),
        ("select-only", &["-S"][..]),
    ] {
        for mode in ["simple", "extended", "prepared"] {
            let mut a = vec!["-n", "-c", "4", "-j", "2", "-t", "5", "-M", mode];
            a.extend_from_slice(args);
            let run = pgbench(&srv, &a);
            let what = format!("{script} -M {mode}");
            assert_eq!(run.code(), Some(0), "{what}: {}", run.describe());
            assert!(
                run.stdout
                    .contains("number of transactions actually processed: 20/20"),
                "{what}: {}",
                run.describe()
            );
            assert!(
                run.stdout.contains("number of failed transactions: 0"),
                "{what}: {}",
                run.describe()
            );
            if script != "select-only" {
                done += 20;
            }
            assert_eq!(
                sum(&mut c, "SELECT count(*) FROM pgbench_history"),
                done.to_string(),
                "{what}"
            );
            let delta = sum(&mut c, "SELECT sum(delta) FROM pgbench_history");
            let a = sum(&mut c, "SELECT sum(abalance) FROM pgbench_accounts");
            let t = sum(&mut c, "SELECT sum(tbalance) FROM pgbench_tellers");
            let b = sum(&mut c, "SELECT sum(bbalance) FROM pgbench_branches");
            assert_eq!(a, delta, "{what}: accounts vs history");
            assert_eq!(t, b, "{what}: tellers vs branches");
            if script == "tpcb-like" {
                assert_eq!(t, delta, "{what}: tellers vs history");
            }
        }
    }
    // Every account is still reachable through the primary key.
    assert_eq!(
        sum(
            &mut c,
            "SELECT count(*) FROM pgbench_accounts WHERE aid >= 1"
        ),
        "100000"
    );
}

/// VACUUM's WAL replays: a lazy VACUUM that cuts the table's empty end
/// (XLOG_SMGR_TRUNCATE) and a VACUUM FULL (a new relfilenode logged as
/// XLOG_FPI page images) survive an immediate shutdown (no checkpoint):
/// recovery gives back exactly the committed rows. VACUUM inside a
/// transaction block is 25001; VERBOSE reports PostgreSQL 15's INFO.
#[test]
fn vacuum_and_vacuum_full_survive_crash_recovery() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    c.batch_execute(
        "CREATE TABLE vw (a int, b text);
         INSERT INTO vw SELECT g, 'row' || g FROM generate_series(1, 20000) g;
         DELETE FROM vw WHERE a > 1000;",
    )
    .unwrap();
    c.batch_execute("VACUUM vw").unwrap();
    c.batch_execute("UPDATE vw SET b = 'u' WHERE a <= 500")
        .unwrap();
    c.batch_execute("VACUUM FULL vw").unwrap();
    c.batch_execute("INSERT INTO vw VALUES (-1, 'after')")
        .unwrap();
    c.batch_execute("BEGIN").unwrap();
    let e = crate::util::expect_sqlstate(c.batch_execute("VACUUM vw"), &["25001"]);
    assert_eq!(e.message(), "VACUUM cannot run inside a transaction block");
    c.batch_execute("ROLLBACK").unwrap();
    drop(c);
    srv.stop_with(libc::SIGQUIT);
    srv.start_postmaster();
    let mut c = srv.connect();
    assert_eq!(
        simple_value(&mut c, "SELECT sum(a) FROM vw").as_deref(),
        Some("500499")
    );
    assert_eq!(
        simple_value(&mut c, "SELECT count(*) FROM vw WHERE b = 'u'").as_deref(),
        Some("500")
    );
    assert!(
        srv.log().contains("redo starts at"),
        "recovery ran: {}",
        srv.log()
    );
    // VACUUM VERBOSE reports as PostgreSQL 15 words it.
    let r = srv.psql(crate::util::Via::Tcp, &["-X", "-c", "VACUUM VERBOSE vw"]);
    assert!(
        r.stderr
            .contains("INFO:  finished vacuuming \"postgres.public.vw\": index scans: 0"),
        "{}",
        r.describe()
    );
}
