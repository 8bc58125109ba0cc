#!/bin/bash
# bench/pgbench.sh: pgbench select-only and TPC-B, tusk against PostgreSQL 15 in one run (issue 10).
# tusk (release) vs PostgreSQL 15, same machine, same run: pgbench scale 10,
# -c 8 -j 2 -T 30, select-only then TPC-B. Writes results to /tmp/xbench/out.
set -u
TUSK=${TUSK:-$(cd "$(dirname "$0")/.." && pwd)/target/release/tusk}
PGBIN=/usr/lib/postgresql/15/bin
B=${B:-/tmp/tusk-pgbench}
TP=54961; PP=54962
rm -rf $B/tusk $B/pg; mkdir -p $B/pg $B/sock; chown postgres $B/pg $B/sock
$TUSK init -D $B/tusk -U postgres >/dev/null
$TUSK server -D $B/tusk -p $TP -k $B/sock -c shared_buffers=128MB --allow-root > $B/tusk.log 2>&1 &
runuser -u postgres -- $PGBIN/initdb -D $B/pg/data -U postgres >/dev/null
runuser -u postgres -- $PGBIN/pg_ctl -D $B/pg/data -o "-p $PP -k $B/sock -c shared_buffers=128MB" -l $B/pg/pg.log start >/dev/null
sleep 3
pgb() { pgbench -h 127.0.0.1 -U postgres "$@" postgres; }
{
echo "== init tusk"; /usr/bin/time -f "%e s" pgbench -h 127.0.0.1 -p $TP -U postgres -i -s 10 -q postgres 2>&1 | tail -2
echo "== init pg"; /usr/bin/time -f "%e s" pgbench -h 127.0.0.1 -p $PP -U postgres -i -s 10 -q postgres 2>&1 | tail -2
for args in "-S" ""; do
  for p in $TP $PP; do
    echo "== port $p args [$args]"
    pgb -p $p -c 8 -j 2 -T 30 $args 2>&1 | grep -E 'tps|failed|processed|latency average'
  done
done
echo "== invariant tusk"
psql -h 127.0.0.1 -p $TP -U postgres -Atc "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers), (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(delta) FROM pgbench_history)" postgres
} > $B/out 2>&1
runuser -u postgres -- $PGBIN/pg_ctl -D $B/pg/data -m fast stop >/dev/null
kill -INT $(head -1 $B/tusk/postmaster.pid)
