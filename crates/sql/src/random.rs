//! random() and setseed(): PostgreSQL 15's generator (pg_prng: the
//! xoroshiro128** generator seeded by splitmix64), so that after
//! `setseed(x)` the same numbers come as from PostgreSQL.
//!
//! Why a thread-local: the state is per session in PostgreSQL (a static
//! in the backend), and a tusk backend is one process running one session;
//! the state is never shared. Until setseed() it is seeded from the clock
//! and process id, as PostgreSQL seeds it from its own entropy.

use std::cell::Cell;

use tusk_common::{sqlstate, PgError};

thread_local! {
    static STATE: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut v = *state;
    v = (v ^ (v >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    v = (v ^ (v >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    v ^ (v >> 31)
}

fn seeded(mut seed: u64) -> (u64, u64) {
    let s0 = splitmix64(&mut seed);
    let s1 = splitmix64(&mut seed);
    if s0 == 0 && s1 == 0 {
        (0x5851_F42D_4C95_7F2D, 0)
    } else {
        (s0, s1)
    }
}

/// The next float8 in [0, 1). Called by the session's own backend only.
pub(crate) fn random() -> f64 {
    STATE.with(|st| {
        let (s0, s1) = st.get().unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            seeded(t ^ ((std::process::id() as u64) << 32))
        });
        let val = s0.wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let sx = s1 ^ s0;
        st.set(Some((
            s0.rotate_left(24) ^ sx ^ (sx << 16),
            sx.rotate_left(37),
        )));
        ((val >> 12) as f64) * 2f64.powi(-52)
    })
}

/// setseed(x), x in [-1, 1].
pub(crate) fn setseed(x: f64) -> Result<(), PgError> {
    if !(-1.0..=1.0).contains(&x) || x.is_nan() {
        return Err(PgError::error(
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
            format!("setseed parameter {x} is out of allowed range [-1,1]"),
        ));
    }
    let seed = (((1u64 << 52) - 1) as f64 * x) as i64;
    STATE.with(|st| st.set(Some(seeded(seed as u64))));
    Ok(())
}
