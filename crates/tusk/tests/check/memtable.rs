//! tusk's Table 16.2 predicts the segment: the table of one configuration,
//! applied to random others, gives `-C shared_memory_size_bytes` within
//! the alignment it states, and the segment of a started server is that
//! size exactly (IPC_STAT).

use crate::support::*;
use serde_json::Value;
use std::process::Command;

/// The table's model, read from its JSON.
struct Model {
    fixed: u64,
    max_padding: u64,
    conn_base: u64,
    conn_lock: u64,
    prep_base: u64,
    prep_lock: u64,
    buffer: u64,
    wal: u64,
    wal_rule: (u64, u64, u64),
    commit_page: u64,
    commit_rule: (u64, u64, u64),
}

fn rule(r: &Value) -> (u64, u64, u64) {
    let r = &r["rule"];
    (
        r["per"].as_u64().unwrap(),
        r["min"].as_u64().unwrap(),
        r["max"].as_u64().unwrap(),
    )
}

fn model(t: &Value) -> Model {
    let row = |name: &str| -> &Value {
        t["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["setting"] == name)
            .unwrap_or_else(|| panic!("no {name} row: {t}"))
    };
    let u = |v: &Value| v.as_u64().unwrap();
    Model {
        fixed: u(&t["fixed"]),
        max_padding: u(&t["max_padding"]),
        conn_base: u(&row("max_connections")["base"]),
        conn_lock: u(&row("max_connections")["per_lock"]),
        prep_base: u(&row("max_prepared_transactions")["base"]),
        prep_lock: u(&row("max_prepared_transactions")["per_lock"]),
        buffer: u(&row("shared_buffers")["per_increment"]),
        wal: u(&row("wal_buffers")["per_increment"]),
        wal_rule: rule(row("wal_buffers")),
        commit_page: u(&row("commit-status cache pages")["per_increment"]),
        commit_rule: rule(row("commit-status cache pages")),
    }
}

fn apply((per, min, max): (u64, u64, u64), sb: u64) -> u64 {
    (sb / per).clamp(min, max)
}

#[derive(Debug, Clone)]
struct Config {
    conns: u64,
    prepared: u64,
    locks: u64,
    buffers: u64,
    /// -1: automatic.
    wal: i64,
}

impl Config {
    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("max_connections", self.conns.to_string()),
            ("max_prepared_transactions", self.prepared.to_string()),
            ("max_locks_per_transaction", self.locks.to_string()),
            ("shared_buffers", self.buffers.to_string()),
            ("wal_buffers", self.wal.to_string()),
        ]
    }
}

impl Model {
    /// The table's sum for a configuration: its rows times the values.
    fn predict(&self, c: &Config) -> u64 {
        let wal = if c.wal < 0 {
            apply(self.wal_rule, c.buffers)
        } else {
            c.wal as u64
        };
        self.fixed
            + c.conns * (self.conn_base + self.conn_lock * c.locks)
            + c.prepared * (self.prep_base + self.prep_lock * c.locks)
            + c.buffers * self.buffer
            + wal * self.wal
            + apply(self.commit_rule, c.buffers) * self.commit_page
    }
}

/// A small deterministic generator, seeded from the clock; the seed is in
/// every failure message so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }

    fn config(&mut self) -> Config {
        let big = self.below(4) == 0;
        Config {
            conns: 4 + self.below(2000),
            prepared: if self.below(2) == 0 {
                0
            } else {
                self.below(300)
            },
            locks: 10 + self.below(500),
            buffers: 16 + self.below(if big { 300_000 } else { 20_000 }),
            wal: if self.below(2) == 0 {
                -1
            } else {
                1 + self.below(4096) as i64
            },
        }
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn table_for(c: &Config) -> Value {
    let mut args = vec![
        "check".to_string(),
        "--memory-table".into(),
        "--json".into(),
    ];
    for (n, v) in c.settings() {
        args.push("-c".into());
        args.push(format!("{n}={v}"));
    }
    let f = run(
        Command::new(TUSK).args(&args),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    let v = f.json();
    assert_keys(
        &v,
        &["format", "rows", "fixed", "sum", "max_padding", "total"],
    );
    assert_eq!(v["format"], "tusk-memory-table/1");
    for r in v["rows"].as_array().unwrap() {
        assert_keys(
            r,
            &[
                "setting",
                "value",
                "per_increment",
                "base",
                "per_lock",
                "bytes",
                "rule",
            ],
        );
    }
    v
}

#[test]
fn the_table_predicts_minus_c_for_random_configurations() {
    let cluster = Cluster::new();
    let base = Config {
        conns: 100,
        prepared: 0,
        locks: 64,
        buffers: 16384,
        wal: -1,
    };
    let t = table_for(&base);
    let m = model(&t);
    let s = seed();
    let mut rng = Rng(s);
    for i in 0..25 {
        let c = rng.config();
        let settings = c.settings();
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let real: u64 = cluster
            .print("shared_memory_size_bytes", &pairs)
            .parse()
            .unwrap();
        let predicted = m.predict(&c);
        assert!(
            predicted <= real && real <= predicted + m.max_padding,
            "seed {s} case {i} {c:?}: the table predicts {predicted} (+0..{}), -C says {real}",
            m.max_padding
        );
        // The table of that configuration itself: its sum, and its total
        // is the segment exactly.
        let own = table_for(&c);
        assert_eq!(
            own["total"].as_u64().unwrap(),
            real,
            "seed {s} case {i} {c:?}"
        );
        assert_eq!(
            own["sum"].as_u64().unwrap(),
            predicted,
            "seed {s} case {i} {c:?}"
        );
        let rows: u64 = own["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["bytes"].as_u64())
            .sum();
        assert_eq!(own["fixed"].as_u64().unwrap() + rows, predicted);
    }
}

#[test]
fn the_text_table_names_every_setting() {
    let f = tusk(&["check", "--memory-table"]);
    assert_eq!(f.code(), Some(0), "{}", f.describe());
    for word in [
        "max_connections",
        "max_prepared_transactions",
        "max_locks_per_transaction",
        "shared_buffers",
        "wal_buffers",
        "fixed part",
        "× max_locks_per_transaction",
        "segment (shared_memory_size_bytes)",
    ] {
        assert!(f.stdout.contains(word), "{word}: {}", f.stdout);
    }
    let c = Cluster::new();
    let bytes: u64 = c.print("shared_memory_size_bytes", &[]).parse().unwrap();
    let grouped = {
        let s = bytes.to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        out
    };
    let last = f
        .stdout
        .lines()
        .find(|l| l.starts_with("segment (shared_memory_size_bytes)"))
        .unwrap();
    assert!(
        last.trim_end().ends_with(&grouped),
        "{last} ends with {grouped}"
    );
}

#[test]
fn a_started_servers_segment_is_the_predicted_size() {
    let s = seed();
    let mut rng = Rng(s);
    let t = table_for(&Config {
        conns: 100,
        prepared: 0,
        locks: 64,
        buffers: 16384,
        wal: -1,
    });
    let m = model(&t);
    for i in 0..3 {
        let mut c = rng.config();
        // Servers that start quickly on a small machine.
        c.conns = 4 + c.conns % 200;
        c.buffers = 16 + c.buffers % 8192;
        let cluster = Cluster::new();
        let settings = c.settings();
        let pairs: Vec<(&str, &str)> = settings.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let minus_c: u64 = cluster
            .print("shared_memory_size_bytes", &pairs)
            .parse()
            .unwrap();
        let port = free_port();
        let mut server = Server::spawn(
            &cluster,
            {
                let mut cmd = Command::new(TUSK);
                cmd.args(cluster.server_args(port, &pairs));
                cmd
            },
            Some(port),
        );
        server.wait_ready();
        let pidfile = cluster.postmaster_pid_file().unwrap();
        let line7: Vec<&str> = pidfile[6].split_whitespace().collect();
        let id: i32 = line7[1].parse().unwrap();
        // SAFETY: plain data filled by the kernel.
        let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: IPC_STAT writes one shmid_ds into the local `ds`.
        let rc = unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) };
        assert_eq!(rc, 0, "IPC_STAT of {id}");
        let real = ds.shm_segsz as u64;
        assert_eq!(real, minus_c, "seed {s} case {i} {c:?}: the segment and -C");
        let predicted = m.predict(&c);
        assert!(
            predicted <= real && real <= predicted + m.max_padding,
            "seed {s} case {i} {c:?}: {predicted} vs {real}"
        );
        server.stop();
        // SAFETY: as above.
        let gone = unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) } != 0;
        assert!(gone, "the segment outlived the server");
    }
}
