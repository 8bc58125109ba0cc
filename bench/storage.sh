#!/usr/bin/env bash
# bench/storage.sh: issue 9's storage figures for PostgreSQL 15 or tusk, one fresh cluster per call.
#
# pgcompare's table scenarios (select, tpcb, recovery) start with `pgbench -i`,
# whose tables have primary keys; tusk has no indexes yet, so they cannot run
# on it. This script measures the three storage figures issue 9 asks for with
# workloads that need only plain tables, identical for both servers, in one
# server life per call (so a caller can interleave pg15, tusk, pg15, tusk...):
#   1. commits: `INSERT INTO c VALUES (1, 'x');` from pgbench -n -c 8 -j 2
#      -T $SECS, synchronous_commit=on, fsync=on: tps.
#   2. bulk: CREATE TABLE b; CHECKPOINT; then, timed by psql's \timing,
#      `INSERT INTO b SELECT g, 'row ' || g FROM generate_series(1, $ROWS) g`.
#   3. crash recovery: right after that INSERT returns (all its WAL is after
#      the checkpoint of step 2, and max_wal_size/checkpoint_timeout are large
#      enough that no other checkpoint starts), SIGKILL of the postmaster and
#      of each of its children, by PID; then start again and time start ->
#      pg_isready OK. The WAL replayed is the range between the log's "redo
#      starts at" and "redo done at" lines; the log's redo "elapsed" is the
#      replay alone, start-to-ready adds the end-of-recovery checkpoint.
#   After the restart, count(*) of b must be $ROWS: the acknowledged INSERT
#   survived.
# Why its own script and not pgcompare: pgcompare has no hook for a custom
# workload; the start command lines and settings are the pgcompare profiles'
# (bench/tusk.json, ../shared/bench/profiles/pg15.json) plus the two WAL
# settings that keep checkpoints out of step 3.
#
# Usage (as root; the servers run as user postgres):
#   bench/storage.sh pg15|tusk
# Environment: ROWS (default 1000000), SECS (default 20), KEEP_LOG (copy the
# server log there at the end), TUSKBIN (default
# /tmp/tusk-bench-bin/tusk, a copy postgres can execute, see run.sh), PGBIN.
# Prints one line per figure: "<kind> <metric> <value>" plus the load average.
#
# Clean-up: the whole run is inside its own IPC namespace (unshare --ipc), so
# no SysV segment or semaphore set can outlive it, even after the SIGKILLs;
# the script stops only the postmaster it started (PID from its own
# postmaster.pid) and the children it listed, and removes its scratch dir.
set -euo pipefail

KIND=${1:?usage: $0 pg15|tusk}
if [ -z "${STORAGE_SH_IN_NS:-}" ]; then
  STORAGE_SH_IN_NS=1 exec unshare --ipc -- "$0" "$@"
fi
ROWS=${ROWS:-1000000}
SECS=${SECS:-20}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TUSKBIN=${TUSKBIN:-/tmp/tusk-bench-bin/tusk}
HOST=127.0.0.1

case "$KIND" in
  pg15) PORT=54349 ;;
  tusk) PORT=54359 ;;
  *) echo "unknown server kind '$KIND'; use pg15 or tusk" >&2; exit 2 ;;
esac
BENCH_NAME=storage
. "$(dirname "$0")/cluster.sh"

# 1. single-row commits
q -c 'CREATE TABLE c(a int, t text)'
echo "INSERT INTO c VALUES (1, 'x');" >"$W/commit.sql"
echo "$KIND load_before_commits $(load)"
out=$("$PGBIN/pgbench" -h $HOST -p "$PORT" -U postgres -n -c 8 -j 2 -T "$SECS" -f "$W/commit.sql" postgres 2>&1)
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
if [ -z "$tps" ] || [ -z "$n" ] || [ "$n" -eq 0 ]; then echo "pgbench failed:" >&2; echo "$out" >&2; exit 1; fi
echo "$KIND commit_tps $tps"
echo "$KIND commit_rows $(q -c 'SELECT count(*) FROM c') (pgbench counted $n)"

# 2. bulk INSERT ... SELECT
q -c 'CREATE TABLE b(a int, t text)' -c 'CHECKPOINT'
echo "$KIND load_before_bulk $(load)"
out=$(q -c '\timing on' -c "INSERT INTO b SELECT g, 'row ' || g FROM generate_series(1, $ROWS) g")
ms=$(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out")
[ -n "$ms" ] || { echo "no timing in: $out" >&2; exit 1; }
echo "$KIND bulk_insert_ms $ms"
echo "$KIND bulk_table_bytes $(q -c "SELECT pg_relation_size('b')" 2>/dev/null || echo n/a)"

# 3. kill -9 of the postmaster and its children, restart, time to ready
KIDS=$(pgrep -P "$PID" | tr '\n' ' ')
kill_tree KILL
wait_gone 30 || { echo "processes survive SIGKILL" >&2; exit 1; }
{ wait "$PID" || true; } 2>/dev/null
echo "$KIND load_before_recovery $(load)"
start
ready=$READY_US
echo "$KIND recovery_ready_ms $((ready / 1000)).$(printf '%03d' $((ready % 1000)))"
from=$(sed -n 's/.*redo starts at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$W/server.log" | tail -1)
to=$(sed -n 's/.*redo done at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$W/server.log" | tail -1)
el=$(sed -n 's/.*redo done at .*elapsed: \([0-9.]*\) s.*/\1/p' "$W/server.log" | tail -1)
[ -n "$from" ] && [ -n "$to" ] || { echo "no redo lines in the log:" >&2; tail -30 "$W/server.log" >&2; exit 1; }
bytes=$(($(lsn "$to") - $(lsn "$from")))
echo "$KIND redo_range $from $to $bytes"
awk -v b="$bytes" -v r="$ready" -v e="$el" 'BEGIN { mb = b / 1048576;
  printf "'"$KIND"' redo_mb %.1f\n'"$KIND"' ready_ms_per_mb %.2f\n'"$KIND"' redo_elapsed_ms_per_mb %.2f\n",
    mb, r / 1000 / mb, e * 1000 / mb }'
got=$(q -c 'SELECT count(*) FROM b')
[ "$got" = "$ROWS" ] || { echo "after recovery b has $got rows, not $ROWS" >&2; exit 1; }
echo "$KIND rows_after_recovery $got"
grep -E 'checkpoint (starting|complete)' "$W/server.log" | sed "s/^/$KIND log: /" | tail -4 || true
