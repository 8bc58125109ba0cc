//! FOREIGN KEY constraints against the real binary: definitions and their
//! pg_constraint rows, each error's text, DETAIL and SQLSTATE as
//! PostgreSQL 15 sends them, every ON DELETE / ON UPDATE action, a
//! deferred check at COMMIT, TRUNCATE and DROP of a referenced table, a
//! concurrent delete of a referenced row, and the keys after a restart.

use std::sync::mpsc;
use std::time::Duration;

use crate::util::{backend_pid, wait_until, Opts, TestServer};
use crate::util::{db_error, exec, rows};

/// The rows of a query as text, in order.

#[test]
fn definitions_and_their_errors_read_as_postgresql() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE p (id int PRIMARY KEY, code text UNIQUE, n int);
         CREATE TABLE c (cid int, pid int REFERENCES p, code text,
                         FOREIGN KEY (code) REFERENCES p (code) ON DELETE CASCADE DEFERRABLE)",
    );
    assert_eq!(
        rows(
            &mut c,
            "SELECT conname, contype, f.relname, conkey, confkey, confupdtype,
                    confdeltype, confmatchtype, condeferrable, condeferred, convalidated
             FROM pg_constraint k JOIN pg_class r ON r.oid = k.conrelid
             JOIN pg_class f ON f.oid = k.confrelid
             WHERE r.relname = 'c' ORDER BY conname"
        ),
        [
            "c_code_fkey|f|p|{3}|{2}|a|c|s|t|f|t",
            "c_pid_fkey|f|p|{2}|{1}|a|a|s|f|f|t"
        ]
    );
    // conindid is the referenced unique index.
    assert_eq!(
        rows(
            &mut c,
            "SELECT i.relname FROM pg_constraint k JOIN pg_class i ON i.oid = k.conindid
             WHERE k.conname = 'c_pid_fkey'"
        ),
        ["p_pkey"]
    );
    // pg_get_constraintdef, as psql's \\d shows the keys.
    assert_eq!(
        rows(
            &mut c,
            "SELECT pg_get_constraintdef(oid, true) FROM pg_constraint
             WHERE contype = 'f' ORDER BY conname"
        ),
        [
            "FOREIGN KEY (code) REFERENCES p(code) ON DELETE CASCADE DEFERRABLE",
            "FOREIGN KEY (pid) REFERENCES p(id)"
        ]
    );
    exec(&mut c, "INSERT INTO p VALUES (1, 'a', 0), (2, 'b', 0)");
    exec(
        &mut c,
        "INSERT INTO c VALUES (10, 1, 'a'), (11, NULL, NULL)",
    );
    let e = db_error(c.execute("INSERT INTO c VALUES (12, 5, NULL)", &[]));
    assert_eq!(e.code().code(), "23503");
    assert_eq!(
        e.message(),
        "insert or update on table \"c\" violates foreign key constraint \"c_pid_fkey\""
    );
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(5) is not present in table \"p\".")
    );
    let e = db_error(c.execute("UPDATE c SET pid = 7 WHERE cid = 10", &[]));
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(7) is not present in table \"p\".")
    );
    let e = db_error(c.execute("DELETE FROM p WHERE id = 1", &[]));
    assert_eq!(e.code().code(), "23503");
    assert_eq!(
        e.message(),
        "update or delete on table \"p\" violates foreign key constraint \"c_pid_fkey\" on table \"c\""
    );
    assert_eq!(
        e.detail(),
        Some("Key (id)=(1) is still referenced from table \"c\".")
    );
    // A statement that inserts the referenced row after the referencing
    // one is judged on its result.
    exec(
        &mut c,
        "CREATE TABLE tree (id int PRIMARY KEY, up int REFERENCES tree)",
    );
    exec(&mut c, "INSERT INTO tree VALUES (2, 1), (1, NULL)");
    // Definitions PostgreSQL refuses.
    exec(&mut c, "CREATE TABLE nokey (a int, b text)");
    let e = db_error(c.execute("CREATE TABLE x (a int REFERENCES nokey)", &[]));
    assert_eq!(e.code().code(), "42830");
    assert_eq!(
        e.message(),
        "there is no primary key for referenced table \"nokey\""
    );
    let e = db_error(c.execute("CREATE TABLE x (a int REFERENCES p (n))", &[]));
    assert_eq!(e.code().code(), "42830");
    assert_eq!(
        e.message(),
        "there is no unique constraint matching given keys for referenced table \"p\""
    );
    let e = db_error(c.execute("CREATE TABLE x (a date REFERENCES p)", &[]));
    assert_eq!(e.code().code(), "42804");
    assert_eq!(
        e.message(),
        "foreign key constraint \"x_a_fkey\" cannot be implemented"
    );
    assert_eq!(
        e.detail(),
        Some("Key columns \"a\" and \"id\" are of incompatible types: date and integer.")
    );
    // ALTER TABLE ADD checks the rows; NOT VALID and VALIDATE.
    exec(
        &mut c,
        "CREATE TABLE d (pid int); INSERT INTO d VALUES (1), (9)",
    );
    let e = db_error(c.execute("ALTER TABLE d ADD FOREIGN KEY (pid) REFERENCES p", &[]));
    assert_eq!(
        e.message(),
        "insert or update on table \"d\" violates foreign key constraint \"d_pid_fkey\""
    );
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(9) is not present in table \"p\".")
    );
    exec(
        &mut c,
        "ALTER TABLE d ADD CONSTRAINT d_p FOREIGN KEY (pid) REFERENCES p NOT VALID",
    );
    let e = db_error(c.execute("INSERT INTO d VALUES (8)", &[]));
    assert_eq!(e.code().code(), "23503");
    let e = db_error(c.execute("ALTER TABLE d VALIDATE CONSTRAINT d_p", &[]));
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(9) is not present in table \"p\".")
    );
    exec(
        &mut c,
        "DELETE FROM d WHERE pid = 9; ALTER TABLE d VALIDATE CONSTRAINT d_p",
    );
    assert_eq!(
        rows(
            &mut c,
            "SELECT convalidated FROM pg_constraint WHERE conname = 'd_p'"
        ),
        ["t"]
    );
    exec(
        &mut c,
        "ALTER TABLE d DROP CONSTRAINT d_p; INSERT INTO d VALUES (8)",
    );
    // MATCH FULL refuses a partly NULL key.
    exec(
        &mut c,
        "CREATE TABLE pp (a int, b int, PRIMARY KEY (a, b));
         CREATE TABLE cc (a int, b int, FOREIGN KEY (a, b) REFERENCES pp MATCH FULL)",
    );
    exec(&mut c, "INSERT INTO cc VALUES (NULL, NULL)");
    let e = db_error(c.execute("INSERT INTO cc VALUES (1, NULL)", &[]));
    assert_eq!(e.code().code(), "23503");
    assert_eq!(
        e.detail(),
        Some("MATCH FULL does not allow mixing of null and nonnull key values.")
    );
    let e = db_error(c.execute("INSERT INTO cc VALUES (1, 2)", &[]));
    assert_eq!(
        e.detail(),
        Some("Key (a, b)=(1, 2) is not present in table \"pp\".")
    );
}

#[test]
fn every_action_changes_the_referencing_rows() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c_cascade (x int, pid int REFERENCES p ON DELETE CASCADE ON UPDATE CASCADE);
         CREATE TABLE c_null (x int, pid int REFERENCES p ON DELETE SET NULL ON UPDATE SET NULL);
         CREATE TABLE c_default (x int, pid int DEFAULT 0 REFERENCES p ON DELETE SET DEFAULT);
         CREATE TABLE c_restrict (x int, pid int REFERENCES p ON DELETE RESTRICT ON UPDATE RESTRICT);
         INSERT INTO p VALUES (0), (1), (2), (3), (4);
         INSERT INTO c_cascade VALUES (1, 1), (2, 2);
         INSERT INTO c_null VALUES (1, 1), (2, 2);
         INSERT INTO c_default VALUES (1, 1), (3, 3);
         INSERT INTO c_restrict VALUES (4, 4)",
    );
    exec(&mut c, "DELETE FROM p WHERE id = 1");
    assert_eq!(
        rows(&mut c, "SELECT x, pid FROM c_cascade ORDER BY x"),
        ["2|2"]
    );
    assert_eq!(
        rows(&mut c, "SELECT x, pid FROM c_null ORDER BY x"),
        ["1|NULL", "2|2"]
    );
    assert_eq!(
        rows(&mut c, "SELECT x, pid FROM c_default ORDER BY x"),
        ["1|0", "3|3"]
    );
    exec(&mut c, "UPDATE p SET id = 20 WHERE id = 2");
    assert_eq!(
        rows(&mut c, "SELECT x, pid FROM c_cascade ORDER BY x"),
        ["2|20"]
    );
    assert_eq!(
        rows(&mut c, "SELECT x, pid FROM c_null ORDER BY x"),
        ["1|NULL", "2|NULL"]
    );
    // SET DEFAULT to a key that is gone fails as the referencing update.
    let e = db_error(c.execute("DELETE FROM p WHERE id = 0", &[]));
    assert_eq!(e.code().code(), "23503");
    let e = db_error(c.execute("DELETE FROM p WHERE id = 4", &[]));
    assert_eq!(
        e.message(),
        "update or delete on table \"p\" violates foreign key constraint \"c_restrict_pid_fkey\" on table \"c_restrict\""
    );
    let e = db_error(c.execute("UPDATE p SET id = 40 WHERE id = 4", &[]));
    assert_eq!(e.code().code(), "23503");
    // A cascade that reaches further.
    exec(
        &mut c,
        "CREATE TABLE g (x int, cx int REFERENCES p ON DELETE CASCADE);
         CREATE TABLE a (id int PRIMARY KEY);
         CREATE TABLE b (id int PRIMARY KEY, aid int REFERENCES a ON DELETE CASCADE);
         CREATE TABLE bb (bid int REFERENCES b ON DELETE CASCADE);
         INSERT INTO a VALUES (1); INSERT INTO b VALUES (1, 1), (2, 1); INSERT INTO bb VALUES (1), (2);
         DELETE FROM a",
    );
    assert_eq!(rows(&mut c, "SELECT count(*) FROM bb"), ["0"]);
}

#[test]
fn deferred_checks_run_at_commit() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c (pid int REFERENCES p DEFERRABLE INITIALLY DEFERRED)",
    );
    // The referenced row may come later in the transaction.
    exec(
        &mut c,
        "BEGIN; INSERT INTO c VALUES (1); INSERT INTO p VALUES (1); COMMIT",
    );
    assert_eq!(rows(&mut c, "SELECT pid FROM c"), ["1"]);
    // Missing at COMMIT: the COMMIT fails and the transaction is gone.
    exec(&mut c, "BEGIN; INSERT INTO c VALUES (2)");
    let e = db_error(c.batch_execute("COMMIT"));
    assert_eq!(e.code().code(), "23503");
    assert_eq!(
        e.message(),
        "insert or update on table \"c\" violates foreign key constraint \"c_pid_fkey\""
    );
    assert_eq!(rows(&mut c, "SELECT count(*) FROM c"), ["1"]);
    // Outside a transaction block a statement is checked at its end.
    let e = db_error(c.execute("INSERT INTO c VALUES (3)", &[]));
    assert_eq!(e.code().code(), "23503");
    // SET CONSTRAINTS ... IMMEDIATE checks what was deferred at once.
    exec(&mut c, "BEGIN; INSERT INTO c VALUES (5)");
    let e = db_error(c.batch_execute("SET CONSTRAINTS ALL IMMEDIATE"));
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(5) is not present in table \"p\".")
    );
    exec(&mut c, "ROLLBACK");
    exec(
        &mut c,
        "BEGIN; SET CONSTRAINTS c_pid_fkey IMMEDIATE; INSERT INTO c VALUES (1); COMMIT",
    );
    exec(&mut c, "BEGIN; SET CONSTRAINTS c_pid_fkey IMMEDIATE");
    let e = db_error(c.batch_execute("INSERT INTO c VALUES (6)"));
    assert_eq!(e.code().code(), "23503");
    exec(&mut c, "ROLLBACK");
    // A row inserted and deleted again leaves nothing to check.
    exec(
        &mut c,
        "BEGIN; INSERT INTO c VALUES (7); DELETE FROM c WHERE pid = 7; COMMIT",
    );
    // COPY checks its rows when the data ends.
    let mut w = c.copy_in("COPY c FROM STDIN").unwrap();
    std::io::Write::write_all(&mut w, b"1\n8\n").unwrap();
    let e = db_error(w.finish());
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(8) is not present in table \"p\".")
    );
    // A rolled-back transaction leaves nothing to check.
    exec(
        &mut c,
        "BEGIN; INSERT INTO c VALUES (4); ROLLBACK; BEGIN; COMMIT",
    );
}

#[test]
fn truncate_and_drop_of_a_referenced_table() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(
        &mut c,
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c (pid int REFERENCES p);
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1)",
    );
    let e = db_error(c.batch_execute("TRUNCATE p"));
    assert_eq!(e.code().code(), "0A000");
    assert_eq!(
        e.message(),
        "cannot truncate a table referenced in a foreign key constraint"
    );
    assert_eq!(e.detail(), Some("Table \"c\" references \"p\"."));
    assert_eq!(
        e.hint(),
        Some("Truncate table \"c\" at the same time, or use TRUNCATE ... CASCADE.")
    );
    exec(&mut c, "TRUNCATE p, c");
    exec(
        &mut c,
        "INSERT INTO p VALUES (1); INSERT INTO c VALUES (1); TRUNCATE p CASCADE",
    );
    assert_eq!(rows(&mut c, "SELECT count(*) FROM c"), ["0"]);
    let e = db_error(c.batch_execute("DROP TABLE p"));
    assert_eq!(e.code().code(), "2BP01");
    assert_eq!(
        e.message(),
        "cannot drop table p because other objects depend on it"
    );
    assert_eq!(
        e.detail(),
        Some("constraint c_pid_fkey on table c depends on table p")
    );
    assert_eq!(
        e.hint(),
        Some("Use DROP ... CASCADE to drop the dependent objects too.")
    );
    // DROP COLUMN: a referencing column takes its key along; a
    // referenced one needs CASCADE.
    exec(
        &mut c,
        "CREATE TABLE c2 (pid int REFERENCES p, x int); ALTER TABLE c2 DROP COLUMN pid",
    );
    let e = db_error(c.batch_execute("ALTER TABLE p DROP COLUMN id"));
    assert_eq!(e.code().code(), "2BP01");
    assert_eq!(
        e.message(),
        "cannot drop column id of table p because other objects depend on it"
    );
    assert_eq!(
        e.detail(),
        Some("constraint c_pid_fkey on table c depends on column id of table p")
    );
    exec(&mut c, "DROP TABLE p CASCADE");
    assert_eq!(
        rows(
            &mut c,
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
        ),
        ["0"]
    );
    exec(&mut c, "INSERT INTO c VALUES (99)");
}

/// Runs `sql` on `c` in a thread; the result comes through the channel.
fn in_thread(
    mut c: postgres::Client,
    sql: &'static str,
) -> (
    mpsc::Receiver<Result<(), postgres::Error>>,
    std::thread::JoinHandle<postgres::Client>,
) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let _ = tx.send(c.batch_execute(sql));
        c
    });
    (rx, h)
}

#[track_caller]
fn wait_blocked(obs: &mut postgres::Client, pid: i32) {
    let q = format!("SELECT count(*) FROM pg_locks WHERE pid = {pid} AND NOT granted");
    assert!(
        wait_until(Duration::from_secs(20), || rows(obs, &q) == ["1"]),
        "session {pid} never waited for a lock"
    );
}

#[test]
fn a_concurrent_delete_of_the_referenced_row_waits() {
    let srv = TestServer::start(Opts::new());
    let mut a = srv.connect();
    let mut obs = srv.connect();
    exec(
        &mut a,
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (pid int REFERENCES p);
         INSERT INTO p VALUES (1), (2)",
    );
    let mut b = srv.connect();
    exec(&mut b, "SET statement_timeout = '60s'");
    let b_pid = backend_pid(&mut b);

    // A's referencing row commits: B's delete fails, no orphan.
    exec(&mut a, "BEGIN; INSERT INTO c VALUES (1)");
    let (rx, h) = in_thread(b, "DELETE FROM p WHERE id = 1");
    wait_blocked(&mut obs, b_pid);
    exec(&mut a, "COMMIT");
    let e = db_error(rx.recv_timeout(Duration::from_secs(30)).expect("B ends"));
    assert_eq!(e.code().code(), "23503");
    assert_eq!(
        e.detail(),
        Some("Key (id)=(1) is still referenced from table \"c\".")
    );
    let b = h.join().unwrap();

    // B deletes first: A's insert waits, then fails once B commits.
    let mut b = b;
    exec(&mut b, "BEGIN; DELETE FROM p WHERE id = 2");
    let a_pid = backend_pid(&mut a);
    let (rx, h) = in_thread(a, "INSERT INTO c VALUES (2)");
    wait_blocked(&mut obs, a_pid);
    exec(&mut b, "COMMIT");
    let e = db_error(rx.recv_timeout(Duration::from_secs(30)).expect("A ends"));
    assert_eq!(
        e.detail(),
        Some("Key (pid)=(2) is not present in table \"p\".")
    );
    drop(h.join().unwrap());
    assert_eq!(
        rows(
            &mut obs,
            "SELECT count(*) FROM c WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.id = c.pid)"
        ),
        ["0"]
    );
}

#[test]
fn keys_survive_a_restart() {
    let mut srv = TestServer::start(Opts::new());
    {
        let mut c = srv.connect();
        exec(
            &mut c,
            "CREATE TABLE p (id int PRIMARY KEY);
             CREATE TABLE c (pid int REFERENCES p ON DELETE CASCADE);
             INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (1), (2)",
        );
    }
    srv.stop_with(libc::SIGTERM);
    srv.start_postmaster();
    let mut c = srv.connect();
    let e = db_error(c.execute("INSERT INTO c VALUES (3)", &[]));
    assert_eq!(e.code().code(), "23503");
    exec(&mut c, "DELETE FROM p WHERE id = 1");
    assert_eq!(rows(&mut c, "SELECT pid FROM c"), ["2"]);
}
