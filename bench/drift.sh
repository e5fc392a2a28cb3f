#!/usr/bin/env bash
# Drift-check benchmark: the release binary syncs N incidents from the
# simulator (no custom fields, no rate limit) into SQLite and, when
# BENCH_POSTGRES_URL is set, into a fresh PostgreSQL database, then times
# `pagerlens verify-analytics` over the whole range twice: the first run
# fetches every raw row, the second only what changed (nothing). Prints
# wall time, PagerDuty calls, incidents compared and mismatches (expected
# 0: the simulator's own analytics against pagerlens's).
# Usage: bench/drift.sh [INCIDENTS] [DAYS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50000}"
DAYS="${2:-365}"
PORT="${BENCH_SIM_PORT:-19192}"
cargo build --release --quiet --bin pagerlens
BIN="$PWD/target/release/pagerlens"
WORK="$(mktemp -d)"
trap 'kill "$SIM" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" simulate-pagerduty --bind "127.0.0.1:$PORT" --incidents "$N" --days "$DAYS" --services 50 \
  --custom-fields none >"$WORK/sim.log" 2>&1 &
SIM=$!
for _ in $(seq 1 100); do grep -q "simulator on" "$WORK/sim.log" && break; sleep 0.2; done

run() { # label database-url
  local label="$1" url="$2" pass
  export DATABASE_URL="$url" PAGERDUTY_API_URL="http://127.0.0.1:$PORT" PAGERDUTY_TOKEN=simulator-token \
    PAGERDUTY_REQUESTS_PER_MINUTE=0 PAGERLENS_LOG=warn
  "$BIN" sync --days "$((DAYS + 1))" >/dev/null 2>&1
  for pass in first again; do
    /usr/bin/time -v "$BIN" verify-analytics --days "$DAYS" >"$WORK/$label.out" 2>"$WORK/$label.err" || true
    local wall rss
    wall=$(grep "Elapsed (wall clock)" "$WORK/$label.err" | awk '{print $NF}')
    rss=$(grep "Maximum resident set size" "$WORK/$label.err" | awk '{print $NF}')
    printf '%-10s %-6s wall=%s peak_rss=%.0fMB  %s\n' "$label" "$pass" "$wall" "$(echo "$rss / 1024" | bc -l)" \
      "$(head -1 "$WORK/$label.out")"
  done
}

run sqlite "sqlite://$WORK/bench.db?mode=rwc"
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  DB="pagerlens_bench_$$"
  psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $DB"
  PGURL="$(echo "$BENCH_POSTGRES_URL" | sed -E "s#/[^/]*\$#/$DB#")"
  run postgres "$PGURL"
  psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
fi
