#!/usr/bin/env bash
# Run every test: installs what the tests need (PostgreSQL 15's clients
# and server programs: psql, pgbench, pg_ctl, pg_isready, postgres; the
# Python driver asyncpg), then
# formats check, build, clippy with warnings as errors, unit tests and
# the end-to-end tests against the real binary.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v psql >/dev/null 2>&1 || need_pkgs+=(postgresql-client-15)
[ -x /usr/lib/postgresql/15/bin/pg_ctl ] || need_pkgs+=(postgresql-15)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing ${need_pkgs[*]}; run as root or install them first" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi
command -v unshare >/dev/null 2>&1 || { apt-get install -y -qq util-linux >/dev/null || true; }
# asyncpg: the e2e test of errors sent before Sync runs it as a client.
python3 -c 'import asyncpg' 2>/dev/null || python3 -m pip install -q asyncpg

cargo fmt --all -- --check
cargo build --workspace --all-targets
# Lints are errors here so that a warning cannot accumulate unnoticed: the
# workspace is kept clippy-clean, including the SAFETY comment on every
# unsafe block (undocumented_unsafe_blocks) and the proc_exit rule
# (clippy.toml's disallowed_methods).
cargo clippy --workspace --all-targets -- -D warnings
# End-to-end tests wait on servers and timeouts more than on CPU: run more
# of them than there are cores.
cargo test --workspace -- --test-threads "${TUSK_TEST_THREADS:-6}"
# Crash torture, short: 20 cycles of pgbench TPC-B under SIGKILL of a
# random server process, checking the TPC-B invariant and that every
# transaction pgbench saw acknowledged survived (scripts/torture.sh; long
# runs and their figures are in bench/README.md).
scripts/torture.sh "${TUSK_TORTURE_CYCLES:-20}"
