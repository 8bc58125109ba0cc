#!/usr/bin/env bash
# bench/connect_select1.sh: connection rate without tables, for PostgreSQL 15 or tusk.
#
# pgcompare's `connect` scenario runs `pgbench -n -C -S`, which needs the
# pgbench tables (`pgbench -i`), and tusk has no tables yet. This script
# measures the same thing -- a new connection per transaction, 2 clients,
# 2 threads -- with a custom one-line script `SELECT 1;` that needs no table,
# so both servers can be compared now. It is a supplement, not a pgcompare
# scenario: no noise retries, no quiet wait, one server start per run.
#
# Usage (as root; the server runs as user postgres):
#   bench/connect_select1.sh pg15|tusk
# Environment: REPS (default 3), SECS (default 10), TUSKBIN (default
# /tmp/tusk-bench-bin/tusk, a copy postgres can execute), PGBIN.
# TLS=1: both servers get ssl = on with the same kind of certificate (an
# EC P-256 server certificate made by the openssl CLI, no client
# certificate), pgbench connects with PGSSLMODE=require, TCP only.
# SCRAM=1: both clusters are made with a password for postgres and
# `host ... scram-sha-256` in pg_hba.conf (initdb's / tusk init's
# --auth-host and --pwfile), password_encryption scram-sha-256 (4096
# iterations, both servers' default); pgbench sends it from PGPASSWORD.
# Prints one line per run: kind via rep conn_per_s avg_conn_ms server_cpu_ms_per_conn
set -euo pipefail

KIND=${1:?usage: $0 pg15|tusk}
REPS=${REPS:-3}
SECS=${SECS:-10}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
TUSKBIN=${TUSKBIN:-/tmp/tusk-bench-bin/tusk}
HOST=127.0.0.1
CLK_TCK=$(getconf CLK_TCK)

case "$KIND" in
  pg15) PORT=54329 ;;
  tusk) PORT=54339 ;;
  *) echo "unknown server kind '$KIND'; use pg15 or tusk" >&2; exit 2 ;;
esac

W=$(mktemp -d /tmp/connect-select1.XXXXXX)
mkdir "$W/sock"
chown -R postgres: "$W"
chmod 755 "$W"
PID=

cleanup() {
  # Stop only the server this script started (by the pid in its own
  # postmaster.pid), fast mode, then remove the scratch directory.
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -INT "$PID"
    for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.05; done
  fi
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

as_pg() { runuser -u postgres -- "$@"; }
TLS=${TLS:-0}
SSLOPT=()
# A self-signed P-256 server certificate in the data directory (where
# ssl_cert_file/ssl_key_file's defaults look), key mode 0600.
make_cert() {
  as_pg openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$W/data/server.key" -out "$W/data/server.crt" -days 2 -subj /CN=localhost 2>/dev/null
  chmod 600 "$W/data/server.key"
}

SCRAM=${SCRAM:-0}
AUTHOPT=()
if [ "$SCRAM" = 1 ]; then
  echo bench-secret >"$W/pwfile"
  chown postgres: "$W/pwfile"
  AUTHOPT=(--auth-local=trust --auth-host=scram-sha-256 --pwfile="$W/pwfile")
  export PGPASSWORD=bench-secret
fi

if [ "$KIND" = pg15 ]; then
  as_pg "$PGBIN/initdb" -D "$W/data" -U postgres -A trust "${AUTHOPT[@]}" -E UTF8 --locale=C --no-sync >"$W/init.log" 2>&1
  [ "$TLS" = 1 ] && { make_cert; SSLOPT=(-c ssl=on); }
  as_pg "$PGBIN/postgres" -D "$W/data" -p "$PORT" -c listen_addresses=$HOST "${SSLOPT[@]}" \
    -c unix_socket_directories="$W/sock" -c shared_buffers=128MB -c max_connections=100 \
    >"$W/server.log" 2>&1 &
else
  as_pg "$TUSKBIN" init -D "$W/data" -U postgres "${AUTHOPT[@]}" >"$W/init.log" 2>&1
  [ "$TLS" = 1 ] && { make_cert; SSLOPT=(-c ssl=on); }
  as_pg "$TUSKBIN" server -D "$W/data" -p "$PORT" -h $HOST -k "$W/sock" "${SSLOPT[@]}" \
    -c shared_buffers=128MB -c max_connections=100 >"$W/server.log" 2>&1 &
fi

for _ in $(seq 1 600); do
  "$PGBIN/pg_isready" -q -h $HOST -p "$PORT" -U postgres && break
  sleep 0.05
done
PID=$(head -n 1 "$W/data/postmaster.pid")

# CPU of the server tree: the postmaster's own ticks plus those of the
# backends it has reaped (cutime/cstime). Every -C backend exits and is
# reaped, so the difference over a run is the whole server's CPU.
server_ticks() { awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] + f[14] + f[15] }' "/proc/$PID/stat"; }

echo 'SELECT 1;' >"$W/select1.sql"
export PGSSLMODE=disable PGGSSENCMODE=disable
VIAS="tcp unix"
if [ "$TLS" = 1 ]; then export PGSSLMODE=require; VIAS=tcp; fi
run_pgbench() { # via seconds
  local h=$HOST
  [ "$1" = unix ] && h="$W/sock"
  "$PGBIN/pgbench" -h "$h" -p "$PORT" -U postgres -n -C -c 2 -j 2 -T "$2" -f "$W/select1.sql" postgres 2>&1
}

for via in $VIAS; do
  run_pgbench "$via" 2 >/dev/null   # warm-up, not measured
done
for rep in $(seq 1 "$REPS"); do
  for via in $VIAS; do
    t0=$(server_ticks)
    out=$(run_pgbench "$via" "$SECS")
    t1=$(server_ticks)
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
    conn=$(sed -n 's/^average connection time = \([0-9.]*\) ms/\1/p' <<<"$out")
    n=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    if [ -z "$tps" ] || [ -z "$n" ] || [ "$n" -eq 0 ]; then
      echo "pgbench failed ($KIND $via):" >&2; echo "$out" >&2; exit 1
    fi
    cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) * 1000 / hz / n }')
    [ "$TLS" = 1 ] && via=tls
    [ "$SCRAM" = 1 ] && via=$via+scram
    echo "$KIND $via $rep $tps $conn $cpu"
  done
done
