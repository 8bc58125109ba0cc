//! Micro-benchmark of setting reads: by name against by typed key.
//! Run with `cargo run --release -p tusk-config --example read_bench`.
//! Not a test: the figures depend on the machine and its load.

use std::hint::black_box;
use std::time::Instant;
use tusk_config::{keys, Settings};

const N: u32 = 2_000_000;

fn per_read(what: &str, mut f: impl FnMut() -> i64) {
    // Warm up, then take the best of five runs (the least disturbed by
    // other load on the machine).
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut acc = 0i64;
        for _ in 0..N {
            acc = acc.wrapping_add(f());
        }
        black_box(acc);
        best = best.min(t.elapsed().as_nanos() as f64 / f64::from(N));
    }
    println!("{what:<40} {best:8.2} ns/read");
}

fn main() {
    let s = Settings::defaults();
    for name in [
        "shared_buffers",
        "work_mem",
        "statement_timeout",
        "backend_oom_score_adj",
    ] {
        per_read(&format!("int({name:?})"), || s.int(black_box(name)));
    }
    // What `int(name)` cost before the name index: a linear
    // case-insensitive scan of the registry on every read.
    for name in [
        "shared_buffers",
        "work_mem",
        "statement_timeout",
        "backend_oom_score_adj",
    ] {
        per_read(&format!("linear scan for {name:?}"), || {
            tusk_config::registry()
                .iter()
                .position(|d| d.name.eq_ignore_ascii_case(black_box(name)))
                .unwrap_or(0) as i64
        });
    }
    for key in [
        keys::SHARED_BUFFERS,
        keys::WORK_MEM,
        keys::STATEMENT_TIMEOUT,
        keys::BACKEND_OOM_SCORE_ADJ,
    ] {
        per_read(&format!("get(keys::{})", key.name().to_uppercase()), || {
            s.get(black_box(key))
        });
    }
}
