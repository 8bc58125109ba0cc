#!/usr/bin/env bash
# Start a tusk server in the foreground on a default data directory,
# initialising it first if it does not exist, and print how to connect.
#
#   scripts/start.sh                 # data in ./tusk-data, port 5432
#   PGDATA=/some/dir PGPORT=5433 scripts/start.sh
#
# Stop it with Ctrl-C (a fast shutdown), or from another terminal with
# kill -TERM|-INT|-QUIT $(head -1 "$PGDATA/postmaster.pid").
set -euo pipefail
cd "$(dirname "$0")/.."
export PGDATA="${PGDATA:-$PWD/tusk-data}"
PORT="${PGPORT:-5432}"
SOCKDIR="${TUSK_SOCKET_DIR:-/tmp}"
cargo build --release -q -p tusk
BIN="$PWD/target/release/tusk"
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  "$BIN" init -D "$PGDATA"
fi
EXTRA=()
if [ "$(id -u)" = 0 ]; then
  # tusk refuses root like PostgreSQL; this is a development convenience.
  echo "note: running as root, so starting with --allow-root" >&2
  EXTRA+=(--allow-root)
fi
SUPERUSER=$(awk '!/^#/ && NF>=2 {print $2; exit}' "$PGDATA/global/pg_authid")
cat <<MSG
tusk is starting on port $PORT (data: $PGDATA). Connect with:

    psql -h $SOCKDIR -p $PORT -U $SUPERUSER postgres        # Unix socket
    psql -h 127.0.0.1 -p $PORT -U $SUPERUSER postgres       # TCP

MSG
exec "$BIN" server -D "$PGDATA" -p "$PORT" -k "$SOCKDIR" "${EXTRA[@]}"
