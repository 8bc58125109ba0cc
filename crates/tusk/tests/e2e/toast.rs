//! TOAST end to end: values from 1 kB to 10 MB, compressible and not, in text and bytea columns, through INSERT, SELECT, UPDATE, DELETE, COPY, VACUUM, TRUNCATE, DROP and kill -9.
//!
//! Why against the binary with the postgres crate: the values cross the
//! wire as parameters and results (the extended protocol, binary for
//! bytea), so a wrong byte anywhere between the client, the toaster, the
//! chunks in the toast table, WAL redo and the detoaster shows up as an
//! inequality here. The toast table is read by name
//! (pg_toast.pg_toast_<oid>) to check where the bytes went: chunks of
//! TOAST_MAX_CHUNK_SIZE (1988 bytes here, see crates/storage/src/toast.rs),
//! none for a value that compressed inline, and none left once the row is
//! deleted and vacuumed.

use crate::util::exec;
use crate::util::{simple_value, wait_until, Opts, TestServer};
use std::time::Duration;

const CHUNK: usize = 1988;

fn value(c: &mut postgres::Client, sql: &str) -> String {
    simple_value(c, sql).unwrap_or_else(|| panic!("{sql}: NULL"))
}

/// Deterministic pseudo-random bytes (xorshift): incompressible.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Incompressible text: pseudo-random letters and digits.
fn noise_text(n: usize, seed: u64) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    noise(n, seed)
        .into_iter()
        .map(|b| A[b as usize % A.len()] as char)
        .collect()
}

/// Compressible text: a sentence repeated, numbered so it is not one run.
fn prose(n: usize) -> String {
    let mut s = String::with_capacity(n + 64);
    let mut i = 0;
    while s.len() < n {
        s.push_str(&format!("line {i} of a long and repetitive text. "));
        i += 1;
    }
    s.truncate(n);
    s
}

fn toast_table(c: &mut postgres::Client, table: &str) -> String {
    let oid = value(
        c,
        &format!("SELECT reltoastrelid FROM pg_class WHERE relname = '{table}'"),
    );
    assert_ne!(oid, "0", "{table} has no toast table");
    format!(
        "pg_toast.pg_toast_{}",
        value(
            c,
            &format!("SELECT oid FROM pg_class WHERE relname = '{table}'")
        )
    )
}

fn chunks(c: &mut postgres::Client, toast: &str) -> i64 {
    value(c, &format!("SELECT count(*) FROM {toast}"))
        .parse()
        .unwrap()
}

#[test]
fn values_from_1kb_to_10mb_round_trip_in_text_and_bytea() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE v (id int, t text, b bytea)");
    let toast = toast_table(&mut c, "v");
    assert_eq!(
        crate::util::simple_rows(
            &mut c,
            "SELECT relkind, relnamespace, relnatts FROM pg_class WHERE relname LIKE 'pg_toast_%'"
        ),
        vec![vec![
            Some("t".to_string()),
            Some("99".to_string()),
            Some("3".to_string())
        ]]
    );
    let mut id = 0;
    for n in [1_000usize, 10_000, 1_000_000, 10_000_000] {
        for compressible in [false, true] {
            id += 1;
            let t = if compressible {
                prose(n)
            } else {
                noise_text(n, id as u64)
            };
            let b = if compressible {
                prose(n).into_bytes()
            } else {
                noise(n, 1000 + id as u64)
            };
            let before = chunks(&mut c, &toast);
            c.execute("INSERT INTO v VALUES ($1, $2, $3)", &[&id, &t, &b])
                .unwrap();
            let added = chunks(&mut c, &toast) - before;
            if n > 2000 && !compressible {
                // Both values out of line, uncompressed: whole chunks.
                assert_eq!(added as usize, 2 * n.div_ceil(CHUNK), "size {n}");
            }
            if compressible && n <= 1_000 {
                assert_eq!(added, 0, "{n} compressible bytes stay inline");
            }
            if compressible && n >= 10_000 {
                // Compressed before moving out: a fraction of the chunks.
                assert!(
                    (added as usize) * 4 < 2 * n / CHUNK,
                    "2 x {n} compressible bytes took {added} chunks"
                );
            }
            let r = c
                .query_one(
                    "SELECT t, b, length(t), length(b), substring(t from 2 for 5) FROM v WHERE id = $1",
                    &[&id],
                )
                .unwrap();
            let (t2, b2): (String, Vec<u8>) = (r.get(0), r.get(1));
            assert!(t2 == t, "text of {n} bytes (compressible {compressible})");
            assert!(b2 == b, "bytea of {n} bytes (compressible {compressible})");
            assert_eq!(r.get::<_, i32>(2) as usize, n);
            assert_eq!(r.get::<_, i32>(3) as usize, n);
            assert_eq!(r.get::<_, String>(4), t[1..6]);
        }
    }
    // Every row again in one scan.
    let all = c
        .query("SELECT id, length(t), length(b) FROM v ORDER BY id", &[])
        .unwrap();
    assert_eq!(all.len(), 8);
    exec(&mut c, "DROP TABLE v");
}

#[test]
fn update_keeps_unchanged_values_and_delete_and_vacuum_remove_chunks() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE u (id int, t text)");
    let toast = toast_table(&mut c, "u");
    let v1 = noise_text(50_000, 1);
    let v2 = noise_text(60_000, 2);
    c.execute("INSERT INTO u VALUES (1, $1), (2, $1)", &[&v1])
        .unwrap();
    let per_value = 50_000usize.div_ceil(CHUNK) as i64;
    assert_eq!(chunks(&mut c, &toast), 2 * per_value);
    let ids = |c: &mut postgres::Client| {
        crate::util::simple_rows(
            c,
            &format!("SELECT DISTINCT chunk_id FROM {toast} ORDER BY 1"),
        )
    };
    let before = ids(&mut c);
    // An update of another column re-uses the out-of-line value.
    exec(&mut c, "UPDATE u SET id = id + 10");
    assert_eq!(ids(&mut c), before);
    assert_eq!(chunks(&mut c, &toast), 2 * per_value);
    // An update of the value replaces its chunks.
    c.execute("UPDATE u SET t = $1 WHERE id = 11", &[&v2])
        .unwrap();
    assert_eq!(
        chunks(&mut c, &toast),
        per_value + 60_000usize.div_ceil(CHUNK) as i64
    );
    let got: Vec<(i32, String)> = c
        .query("SELECT id, t FROM u ORDER BY id", &[])
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(got == vec![(11, v2.clone()), (12, v1.clone())]);
    // A rolled-back insert leaves no visible chunk.
    exec(&mut c, "BEGIN");
    c.execute("INSERT INTO u VALUES (3, $1)", &[&v2]).unwrap();
    exec(&mut c, "ROLLBACK");
    // DELETE: the chunks go with the row; VACUUM gives the pages back.
    exec(&mut c, "DELETE FROM u");
    assert_eq!(chunks(&mut c, &toast), 0);
    let toast_file = value(
        &mut c,
        "SELECT relfilenode FROM pg_class WHERE relname LIKE 'pg_toast_%'",
    );
    let path = srv.data_dir().join("base/5").join(&toast_file);
    let pages_before = std::fs::metadata(&path).unwrap().len() / 8192;
    // 51 chunks of the two remaining values, four to a page.
    assert!(pages_before >= 13, "{pages_before} toast pages");
    exec(&mut c, "VACUUM u");
    let pages_after = std::fs::metadata(&path).unwrap().len() / 8192;
    assert_eq!(pages_after, 0, "the emptied toast table is truncated");
    // A VACUUM FULL keeps values readable (the toast table is rewritten
    // too), TRUNCATE empties both, DROP removes both files.
    c.execute("INSERT INTO u VALUES (5, $1)", &[&v1]).unwrap();
    exec(&mut c, "VACUUM FULL u");
    let t: String = c.query_one("SELECT t FROM u", &[]).unwrap().get(0);
    assert!(t == v1, "value after VACUUM FULL");
    exec(&mut c, "TRUNCATE u");
    assert_eq!(chunks(&mut c, &toast), 0);
    c.execute("INSERT INTO u VALUES (6, $1)", &[&v2]).unwrap();
    let t: String = c.query_one("SELECT t FROM u", &[]).unwrap().get(0);
    assert!(t == v2, "value after TRUNCATE");
    let toast_file = value(
        &mut c,
        "SELECT relfilenode FROM pg_class WHERE relname LIKE 'pg_toast_%'",
    );
    // The toast table is the toaster's: no direct changes.
    for (sql, code) in [
        (format!("DELETE FROM {toast}"), "42809"),
        (
            format!("INSERT INTO {toast} VALUES (1, 0, '\\x00')"),
            "42809",
        ),
        (format!("DROP TABLE {toast}"), "42501"),
    ] {
        let e = crate::util::expect_sqlstate(c.batch_execute(&sql), &[code]);
        assert!(e.message().contains("pg_toast_"), "{sql}: {}", e.message());
    }
    exec(&mut c, "DROP TABLE u");
    assert!(!srv.data_dir().join("base/5").join(&toast_file).exists());
    assert_eq!(
        value(
            &mut c,
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'pg_toast_%'"
        ),
        "0"
    );
}

#[test]
fn copy_moves_toasted_values_both_ways() {
    let srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE cp (id int, t text)");
    let big = noise_text(1_000_000, 9);
    {
        use std::io::Write;
        let mut w = c.copy_in("COPY cp FROM STDIN").unwrap();
        w.write_all(format!("1\t{big}\n2\t{}\n", prose(300_000)).as_bytes())
            .unwrap();
        w.finish().unwrap();
    }
    let mut out = String::new();
    {
        use std::io::Read;
        let mut r = c
            .copy_out("COPY (SELECT * FROM cp ORDER BY id) TO STDOUT")
            .unwrap();
        r.read_to_string(&mut out).unwrap();
    }
    assert!(out == format!("1\t{big}\n2\t{}\n", prose(300_000)));
}

/// Values committed, then kill -9 before any checkpoint: WAL redo of the
/// toast table's heap records gives them back byte-equal.
#[test]
fn toasted_values_survive_kill9() {
    let mut srv = TestServer::start(Opts::new());
    let mut c = srv.connect();
    exec(&mut c, "CREATE TABLE k (id int, t text, b bytea)");
    let vals: Vec<(i32, String, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                i,
                if i % 2 == 0 {
                    noise_text(1_000_000, 40 + i as u64)
                } else {
                    prose(1_000_000)
                },
                noise(1_000_000, 80 + i as u64),
            )
        })
        .collect();
    for (i, t, b) in &vals {
        c.execute("INSERT INTO k VALUES ($1, $2, $3)", &[i, t, b])
            .unwrap();
    }
    // One value replaced and one row deleted, committed too.
    c.execute("UPDATE k SET t = $1 WHERE id = 0", &[&prose(1_000_000)])
        .unwrap();
    exec(&mut c, "DELETE FROM k WHERE id = 3");
    drop(c);
    let kids = srv.children();
    srv.kill9_postmaster();
    assert!(wait_until(Duration::from_secs(20), || kids
        .iter()
        .all(|p| !p.is_running())));
    srv.start_postmaster();
    let mut c = srv.connect();
    let got: Vec<(i32, String, Vec<u8>)> = c
        .query("SELECT id, t, b FROM k ORDER BY id", &[])
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let mut want = vals.clone();
    want[0].1 = prose(1_000_000);
    want.pop();
    assert!(got == want, "values after kill -9 and recovery");
}
