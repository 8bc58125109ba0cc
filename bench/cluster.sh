# bench/cluster.sh: one fresh PostgreSQL 15 or tusk cluster for a bench script, sourced, started, cleaned up on exit.
#
# Why one file: storage.sh and toast.sh set up the same cluster the same
# way (settings, start-to-ready time, clean-up that stops only the
# postmaster started here); a fix to one must reach both.
#
# The sourcing script sets KIND (pg15|tusk), PORT, PGBIN, TUSKBIN, HOST
# and BENCH_NAME (scratch directory prefix), runs in its own IPC namespace,
# and gets W (scratch dir), PID, READY_US, and q / lsn / load helpers.
if "$PGBIN/pg_isready" -q -h $HOST -p "$PORT"; then
  echo "something already listens on port $PORT" >&2; exit 1
fi

W=$(mktemp -d "/tmp/${BENCH_NAME:?}-bench.XXXXXX")
mkdir "$W/sock"
chown -R postgres: "$W"
chmod 755 "$W"
PID=
KIDS=

settings=(-c shared_buffers=128MB -c max_connections=100 -c fsync=on -c synchronous_commit=on
  -c max_wal_size=10GB -c checkpoint_timeout=3600 -c log_checkpoints=on)

kill_tree() { # signal: the recorded postmaster and children, by PID
  local p
  for p in $PID $KIDS; do kill "-$1" "$p" 2>/dev/null || true; done
}
alive() { local p; for p in $PID $KIDS; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
wait_gone() { # seconds
  local i
  for i in $(seq 1 $(($1 * 100))); do alive || return 0; sleep 0.01; done
  return 1
}

cleanup() {
  if [ -n "$PID" ] && alive; then
    kill -INT "$PID" 2>/dev/null || true
    if ! wait_gone 60; then kill_tree QUIT; wait_gone 5 || kill_tree KILL; fi
  fi
  wait 2>/dev/null || true
  if [ -n "${KEEP_LOG:-}" ]; then cp "$W/server.log" "$KEEP_LOG"; fi
  rm -rf "$W"
}
trap cleanup EXIT INT TERM

# An array, not a function: a function run with & is a subshell whose PID
# would not be the server's.
AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --)

# Starts the server in the background (the spawned PID is the postmaster
# itself: setpriv execs) and sets READY_US to start-to-ready in µs. Not
# called in a subshell, so that PID stays set for the clean-up.
start() {
  local t0 t1
  t0=$(date +%s%N)
  if [ "$KIND" = pg15 ]; then
    "${AS_PG[@]}" "$PGBIN/postgres" -D "$W/data" -p "$PORT" -c listen_addresses=$HOST \
      -c unix_socket_directories="$W/sock" "${settings[@]}" >>"$W/server.log" 2>&1 &
  else
    "${AS_PG[@]}" "$TUSKBIN" server -D "$W/data" -p "$PORT" -h $HOST -k "$W/sock" \
      "${settings[@]}" >>"$W/server.log" 2>&1 &
  fi
  PID=$!
  KIDS=
  local i
  for i in $(seq 1 12000); do
    "$PGBIN/pg_isready" -q -h $HOST -p "$PORT" -U postgres && break
    kill -0 "$PID" 2>/dev/null || { echo "server exited:" >&2; tail -20 "$W/server.log" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  [ "$(head -n 1 "$W/data/postmaster.pid")" = "$PID" ] || { echo "postmaster.pid does not name $PID" >&2; exit 1; }
  "$PGBIN/pg_isready" -q -h $HOST -p "$PORT" -U postgres || { echo "not ready after 120 s" >&2; exit 1; }
  READY_US=$(((t1 - t0) / 1000))
}

export PGSSLMODE=disable PGGSSENCMODE=disable
q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h $HOST -p "$PORT" -U postgres -d postgres -At "$@"; }
lsn() { echo $(((16#${1%/*} << 32) + 16#${1#*/})); }
load() { cut -d' ' -f1-3 /proc/loadavg; }

if [ "$KIND" = pg15 ]; then
  "${AS_PG[@]}" "$PGBIN/initdb" -D "$W/data" -U postgres -A trust -E UTF8 --locale=C --no-sync >"$W/init.log" 2>&1
else
  "${AS_PG[@]}" "$TUSKBIN" init -D "$W/data" -U postgres >"$W/init.log" 2>&1
fi
start
