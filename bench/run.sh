#!/usr/bin/env bash
# bench/run.sh: PostgreSQL 15 and tusk, back to back, on the pgcompare
# scenarios that need no tables, then the table-free connection-rate
# supplement. Run as root from anywhere after `cargo build --release -p tusk`;
# servers run as user postgres. Results go to /tmp/bench-*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
H=${HARNESS:-../shared/bench}
SCEN=${SCEN:-startup,memory,shutdown,kill9}
REPEAT=${REPEAT:-3}

# postgres cannot reach target/ (under /work/main, owned by root), so the
# profile points at a copy.
install -d -m 755 /tmp/tusk-bench-bin
install -m 755 target/release/tusk /tmp/tusk-bench-bin/tusk

# The shared pg15 profile has a placeholder workdir; give it a real one.
sed 's#"<scratch>/pgbase"#"/tmp/pgcompare-pg15"#' "$H/profiles/pg15.json" >/tmp/pg15-bench.json

python3 "$H/pgcompare.py" --profile /tmp/pg15-bench.json --only "$SCEN" --repeat "$REPEAT" \
  --out /tmp/bench-pg15.json
python3 "$H/pgcompare.py" --profile bench/tusk.json --only "$SCEN" --repeat "$REPEAT" \
  --out /tmp/bench-tusk.json
python3 "$H/pgcompare.py" --compare /tmp/bench-pg15.json /tmp/bench-tusk.json

REPS=$REPEAT bench/connect_select1.sh pg15
REPS=$REPEAT bench/connect_select1.sh tusk
