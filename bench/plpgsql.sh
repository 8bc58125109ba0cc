#!/usr/bin/env bash
# bench/plpgsql.sh: PL/pgSQL speed (issue 13), PostgreSQL 15 or tusk, one fresh cluster per call.
#
# What it measures, identically for both servers (settings as storage.sh's):
#   1. loop: `DO` block of a FOR loop of $ITER iterations doing integer
#      arithmetic into a variable (s := s + i % 7 * 2 - 1), then checking
#      the sum with RAISE; timed from psql's start to its end (ms).
#   2. trigger: INSERT ... SELECT of $ROWS rows into a table with a BEFORE
#      INSERT row trigger (PL/pgSQL) that sets a column from two others;
#      timed the same way, then checked with sum().
#   Each is run $REPS times in the one cluster; every time is printed.
# Why not pgcompare: it has no server-side-code workload.
#
# Usage (as root; the servers run as user postgres):
#   bench/plpgsql.sh pg15|tusk
# Environment: ITER (default 1000000), ROWS (default 100000), REPS (default
# 3), TUSKBIN (default /tmp/tusk-bench-bin/tusk, see run.sh), PGBIN.
# Clean-up: as storage.sh: its own IPC namespace, stops only the postmaster
# it started, removes its scratch directory.
set -euo pipefail

KIND=${1:?usage: $0 pg15|tusk}
if [ -z "${PLPGSQL_SH_IN_NS:-}" ]; then
  PLPGSQL_SH_IN_NS=1 exec unshare --ipc -- "$0" "$@"
fi
ITER=${ITER:-1000000}
ROWS=${ROWS:-100000}
REPS=${REPS:-3}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TUSKBIN=${TUSKBIN:-/tmp/tusk-bench-bin/tusk}
HOST=127.0.0.1

case "$KIND" in
  pg15) PORT=54389 ;;
  tusk) PORT=54399 ;;
  *) echo "unknown server kind '$KIND'; use pg15 or tusk" >&2; exit 2 ;;
esac
BENCH_NAME=plpgsql
. "$(dirname "$0")/cluster.sh"

ms() { echo $(( ($2 - $1) / 1000000 )); }
# The expected sum of the loop, computed here so that both servers are
# checked against the same figure.
want=$(python3 -c "print(sum(i % 7 * 2 - 1 for i in range(1, $ITER + 1)))")
q -c 'CREATE TABLE t (id int, a int, b int, c int)'
q -c "CREATE FUNCTION t_fill() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  NEW.c := NEW.a * 2 + NEW.b;
  RETURN NEW;
END \$\$"
q -c 'CREATE TRIGGER t_fill BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_fill()'
echo "$KIND load_before $(load)"
for r in $(seq 1 "$REPS"); do
  t0=$(date +%s%N)
  out=$(q -c "DO \$\$
DECLARE s bigint := 0;
BEGIN
  FOR i IN 1..$ITER LOOP
    s := s + i % 7 * 2 - 1;
  END LOOP;
  RAISE NOTICE 'sum %', s;
END \$\$" 2>&1)
  t1=$(date +%s%N)
  [ "$out" = "NOTICE:  sum $want" ] || { echo "loop printed: $out" >&2; exit 1; }
  echo "$KIND loop_${ITER}_ms $(ms $t0 $t1)"
done
for r in $(seq 1 "$REPS"); do
  q -c 'TRUNCATE t'
  t0=$(date +%s%N)
  q -c "INSERT INTO t (id, a, b) SELECT g, g % 100, 1 FROM generate_series(1, $ROWS) g"
  t1=$(date +%s%N)
  echo "$KIND trigger_insert_${ROWS}_ms $(ms $t0 $t1)"
  got=$(q -c "SELECT count(*), sum(c) FROM t")
  want_t=$(python3 -c "print(f'{$ROWS}|{sum(g % 100 * 2 + 1 for g in range(1, $ROWS + 1))}')")
  [ "$got" = "$want_t" ] || { echo "t holds $got, want $want_t" >&2; exit 1; }
done
echo "$KIND load_after $(load)"
echo "$KIND checked ok"
