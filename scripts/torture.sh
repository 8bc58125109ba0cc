#!/usr/bin/env bash
# scripts/torture.sh: crash torture — pgbench TPC-B under SIGKILL of a random tusk process, cycle after cycle.
#
# Why a script and not only the e2e crash ledger: the ledger proves the
# rule with a workload made for checking; this runs the workload every
# PostgreSQL user measures (pgbench's tpcb-like script, its own
# per-transaction log as the record of what was acknowledged) for as many
# cycles as one wants, against any tusk binary, and prints one line per
# cycle so a long run can be watched and a failure replayed from its seed.
#
# Each cycle: pgbench -c 4 -j 2 runs TPC-B with per-transaction logging
# (-l); after a random 0.3-KILL_AFTER s (default 3) one process is killed with SIGKILL,
# chosen at random among the postmaster, a backend, the checkpointer, the
# walwriter, the background writer and the autovacuum launcher (when it
# runs). A killed child makes the postmaster reinitialise (crash restart);
# a killed postmaster is started again by the script, after checking that
# none of its children outlived it by more than 5 s (a child
# notices the postmaster's death at its next wait; 5 s leaves room for a
# loaded machine). Then:
#   - TPC-B invariant: sum(abalance) = sum(tbalance) = sum(bbalance) =
#     sum(history.delta);
#   - history holds at least every transaction pgbench logged as done
#     (cumulative over the cycles: a logged transaction was acknowledged);
#   - the server answers.
# At the end: a fast stop, then no process of ours alive and no System V
# object left in the run's IPC namespace.
#
# Usage: scripts/torture.sh [CYCLES] (default 20)
# Environment: TUSK (binary, default target/debug/tusk), SCALE (default 1),
# KILL_AFTER (longest run before the kill, whole seconds, default 3),
# INIT_STEPS (pgbench -I, default dtgvp),
# CRASH_SEED (replays a run's choices), KEEP (keep the scratch dir).
# Runs inside its own IPC namespace (unshare --ipc), so nothing can leak
# into the machine's; needs root for that (or an unprivileged user
# namespace). Stops only processes it started, by PID.
set -euo pipefail

CYCLES=${1:-20}
if [ -z "${TORTURE_IN_NS:-}" ]; then
  TORTURE_IN_NS=1 exec unshare --ipc -- "$0" "$@"
fi
cd "$(dirname "$0")/.."
TUSK=$(realpath "${TUSK:-target/debug/tusk}")
SCALE=${SCALE:-1}
KILL_AFTER=${KILL_AFTER:-3}
[ "$KILL_AFTER" -ge 1 ] 2>/dev/null || { echo "torture: KILL_AFTER must be a whole number of seconds >= 1, not '$KILL_AFTER'" >&2; exit 2; }
SEED=${CRASH_SEED:-$(( $(date +%s%N) % 1000000007 ))}
RANDOM=$(( SEED % 32768 ))
echo "torture: $CYCLES cycles, scale $SCALE, CRASH_SEED=$SEED, binary $TUSK"

W=$(mktemp -d /tmp/torture.XXXXXX)
D=$W/data
PORT=$(( 20000 + SEED % 20000 ))
PM=
cleanup() {
  local rc=$?
  if [ -n "$PM" ] && kill -0 "$PM" 2>/dev/null; then
    kill -INT "$PM" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PM" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PM" 2>/dev/null || true
  fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$W"; else echo "kept $W"; fi
  exit $rc
}
trap cleanup EXIT
fail() { echo "torture: FAILED: $*" >&2; tail -30 "$W/log" >&2 || true; exit 1; }

q() { psql -X -q -At -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -c "$1"; }

start() {
  "$TUSK" server --allow-root -D "$D" -c port="$PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$W" -c max_connections=20 >>"$W/log" 2>&1 &
  PM=$!
  wait_ready || fail "the server did not become ready"
}

# Polls until the server accepts connections, for at most 60 s.
wait_ready() {
  for _ in $(seq 600); do
    pg_isready -q -h 127.0.0.1 -p "$PORT" && q "SELECT 1" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

children() { pgrep -P "$PM" 2>/dev/null || true; }

# The child of the postmaster whose title contains $1.
child_titled() {
  local p
  for p in $(children); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$1"; then echo "$p"; return; fi
  done
}

"$TUSK" init -U postgres -D "$D" >"$W/init.log" 2>&1 || { cat "$W/init.log"; fail "tusk init"; }
start
pgbench -i -q -I "${INIT_STEPS:-dtgvp}" -s "$SCALE" -h 127.0.0.1 -p "$PORT" -U postgres postgres >"$W/pgbench-init.log" 2>&1 \
  || { cat "$W/pgbench-init.log"; fail "pgbench -i"; }

logged=0
declare -A kills=()
for cycle in $(seq 1 "$CYCLES"); do
  rm -f "$W"/pgbench_log.*
  (cd "$W" && exec pgbench -n -c 4 -j 2 -T 60 -l -h 127.0.0.1 -p "$PORT" -U postgres postgres \
    >"$W/pgbench.out" 2>&1) &
  BENCH=$!
  # The random kill moment (this is the workload's duration, not a wait
  # for a condition).
  tenths=$(( RANDOM % (KILL_AFTER * 10 - 2) ))
  sleep "$(( tenths / 10 )).$(( tenths % 10 ))"
  sleep 0.3
  targets=(postmaster backend checkpointer walwriter "background writer")
  [ -n "$(child_titled 'autovacuum launcher')" ] && targets+=("autovacuum launcher")
  target=${targets[$(( RANDOM % ${#targets[@]} ))]}
  case "$target" in
    postmaster) victim=$PM ;;
    backend) victim=$(child_titled 'postgres postgres' | head -1) ;;
    *) victim=$(child_titled "$target") ;;
  esac
  if [ -z "$victim" ]; then
    victim=$PM; target=postmaster
  fi
  kids=$(children)
  if ! kill -KILL "$victim" 2>/dev/null; then
    # The victim ended on its own between the choice and the signal (a
    # backend whose client finished): the postmaster instead, so that
    # every cycle ends in a crash.
    victim=$PM; target=postmaster
    kids=$(children)
    kill -KILL "$victim"
  fi
  kills[$target]=$(( ${kills[$target]:-0} + 1 ))
  if [ "$target" = postmaster ]; then
    wait "$PM" 2>/dev/null || true
    for _ in $(seq 50); do
      alive=0
      for k in $kids; do kill -0 "$k" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for k in $kids; do
      kill -0 "$k" 2>/dev/null \
        && fail "cycle $cycle: child $k ($(tr '\0' ' ' <"/proc/$k/cmdline" 2>/dev/null)) outlived the postmaster by 5 s"
    done
    wait "$BENCH" 2>/dev/null || true
    start
  else
    wait "$BENCH" 2>/dev/null || true
    wait_ready || fail "cycle $cycle: no crash restart after SIGKILL of the $target"
  fi
  n=$(cat "$W"/pgbench_log.* 2>/dev/null | wc -l)
  logged=$(( logged + n ))
  sums=$(q "SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(tbalance) FROM pgbench_tellers),
                   (SELECT sum(bbalance) FROM pgbench_branches), (SELECT coalesce(sum(delta), 0) FROM pgbench_history),
                   (SELECT count(*) FROM pgbench_history)") || fail "cycle $cycle: query after restart"
  IFS='|' read -r a t b h hist <<<"$sums"
  if ! { [ "$a" = "$t" ] && [ "$t" = "$b" ] && [ "$b" = "$h" ]; }; then
    # What a failure needs to be understood: how many versions of each
    # row are visible, and where they live.
    q "SELECT 'branches', count(*), count(DISTINCT bid) FROM pgbench_branches
       UNION ALL SELECT 'tellers', count(*), count(DISTINCT tid) FROM pgbench_tellers
       UNION ALL SELECT 'accounts', count(*), count(DISTINCT aid) FROM pgbench_accounts" >&2 || true
    q "SELECT ctid, xmin, xmax, bid, bbalance FROM pgbench_branches" >&2 || true
  fi
  [ "$a" = "$t" ] && [ "$t" = "$b" ] && [ "$b" = "$h" ] \
    || fail "cycle $cycle (killed the $target): TPC-B invariant broken: accounts $a, tellers $t, branches $b, history $h"
  [ "$hist" -ge "$logged" ] \
    || fail "cycle $cycle (killed the $target): history has $hist rows but pgbench logged $logged transactions as done"
  printf 'cycle %4d: killed %-20s  %5d logged, history %7d, balance sum %s\n' \
    "$cycle" "$target" "$n" "$hist" "$a"
done

kill -INT "$PM"
wait "$PM" || fail "fast stop exited non-zero"
left=$(children)
[ -z "$left" ] || fail "processes left after stop: $left"
PM=
objs=$(ipcs -m -s | awk '$1 ~ /^0x/ {n++} END {print n+0}')
[ "$objs" = 0 ] || { ipcs -m -s; fail "$objs System V objects left"; }
summary=""
for k in "${!kills[@]}"; do summary+="$k ${kills[$k]}, "; done
echo "torture: $CYCLES cycles passed; $logged transactions logged as done, all present; kills: ${summary%, }"
