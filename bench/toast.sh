#!/usr/bin/env bash
# bench/toast.sh: INSERT of $ROWS rows of $SIZE-byte text (TOAST), PostgreSQL 15 or tusk, one fresh cluster per call.
#
# What it measures, identically for both servers (settings as storage.sh's):
#   1. compressible: `INSERT INTO t SELECT g, <SIZE bytes of a repeated
#      phrase> || g FROM generate_series(1, ROWS) g`, one statement: the
#      toaster compresses each value (pglz) and stores it out of line.
#   2. incompressible: a psql script of ROWS single-row `INSERT INTO u VALUES
#      (i, '<SIZE random base64 characters>')` run in one transaction
#      (psql -1 -f): pglz gives up, each value goes out of line in chunks.
#   Each timed from psql's start to its end (ms), then checked: count(*) and
#   sum(length(v)) must be ROWS and ROWS * SIZE (plus the digits of g in 1).
# Why not pgcompare: it has no TOAST workload. Why random base64 from the
# client: tusk has no md5()/random() to make incompressible text itself.
#
# Usage (as root; the servers run as user postgres):
#   bench/toast.sh pg15|tusk
# Environment: ROWS (default 1000), SIZE (default 100000), TUSKBIN (default
# /tmp/tusk-bench-bin/tusk, see run.sh), PGBIN.
# Clean-up: as storage.sh: its own IPC namespace, stops only the postmaster
# it started, removes its scratch directory (the 100 MB script included).
set -euo pipefail

KIND=${1:?usage: $0 pg15|tusk}
if [ -z "${TOAST_SH_IN_NS:-}" ]; then
  TOAST_SH_IN_NS=1 exec unshare --ipc -- "$0" "$@"
fi
ROWS=${ROWS:-1000}
SIZE=${SIZE:-100000}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TUSKBIN=${TUSKBIN:-/tmp/tusk-bench-bin/tusk}
HOST=127.0.0.1

case "$KIND" in
  pg15) PORT=54369 ;;
  tusk) PORT=54379 ;;
  *) echo "unknown server kind '$KIND'; use pg15 or tusk" >&2; exit 2 ;;
esac
BENCH_NAME=toast
. "$(dirname "$0")/cluster.sh"

ms() { echo $(( ($2 - $1) / 1000000 )); }
q -c 'CREATE TABLE t (id int, v text)'
q -c 'CREATE TABLE u (id int, v text)'
PHRASE="tusk toast "
REPS=$(( SIZE / ${#PHRASE} + 1 ))
echo "$KIND load_before $(load)"
t0=$(date +%s%N)
q -c "INSERT INTO t SELECT g, substring(repeat('$PHRASE', $REPS) from 1 for $SIZE) || g FROM generate_series(1, $ROWS) g"
t1=$(date +%s%N)
echo "$KIND insert_compressible_ms $(ms $t0 $t1)"
python3 - "$ROWS" "$SIZE" >"$W/u.sql" <<'PY'
import base64, os, sys
rows, size = int(sys.argv[1]), int(sys.argv[2])
for i in range(rows):
    v = base64.b64encode(os.urandom(size)).decode()[:size]
    print(f"INSERT INTO u VALUES ({i}, '{v}');")
PY
chmod 644 "$W/u.sql"
t0=$(date +%s%N)
q -1 -f "$W/u.sql" >/dev/null
t1=$(date +%s%N)
echo "$KIND insert_incompressible_ms $(ms $t0 $t1)"
echo "$KIND load_after $(load)"
got=$(q -c "SELECT count(*), sum(length(v)) FROM u")
[ "$got" = "$ROWS|$((ROWS * SIZE))" ] || { echo "u holds $got" >&2; exit 1; }
got=$(q -c "SELECT count(*) FROM t WHERE length(v) >= $SIZE")
[ "$got" = "$ROWS" ] || { echo "t holds $got long rows" >&2; exit 1; }
echo "$KIND checked ok"
