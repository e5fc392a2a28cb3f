#!/usr/bin/env bash
# Full-sync benchmark: the release binary syncs N incidents from the simulator
# (no simulated latency, no rate limit) into SQLite and, when
# BENCH_POSTGRES_URL is set, into a fresh PostgreSQL database.
# Prints wall time, incidents/s, peak memory (max RSS), API calls and the
# time those calls take at PagerDuty's default budget of 600 a minute.
# BENCH_CUSTOM_FIELDS=all|none|some-types picks the simulated organisation's
# custom fields (default all); BENCH_BUDGET=N syncs at N requests a minute
# instead of unlimited.
# Usage: bench/sync.sh [INCIDENTS] [DAYS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50000}"
DAYS="${2:-365}"
PORT="${BENCH_SIM_PORT:-19191}"
cargo build --release --quiet --bin pagerlens
BIN="$PWD/target/release/pagerlens"
WORK="$(mktemp -d)"
trap 'kill "$SIM" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN" simulate-pagerduty --bind "127.0.0.1:$PORT" --incidents "$N" --days "$DAYS" --services 50 \
  --custom-fields "${BENCH_CUSTOM_FIELDS:-all}" >"$WORK/sim.log" 2>&1 &
SIM=$!
for _ in $(seq 1 100); do grep -q "simulator on" "$WORK/sim.log" && break; sleep 0.2; done

run() { # label database-url
  local label="$1" url="$2"
  /usr/bin/time -v env DATABASE_URL="$url" PAGERDUTY_API_URL="http://127.0.0.1:$PORT" PAGERDUTY_TOKEN=simulator-token \
    PAGERDUTY_REQUESTS_PER_MINUTE="${BENCH_BUDGET:-0}" PAGERDUTY_MAX_CONCURRENCY="${BENCH_CONCURRENCY:-8}" PAGERLENS_LOG=warn \
    "$BIN" sync --days "$((DAYS + 1))" >"$WORK/$label.out" 2>"$WORK/$label.err"
  local wall rss calls
  wall=$(grep "Elapsed (wall clock)" "$WORK/$label.err" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/$label.err" | awk '{print $NF}')
  calls=$(grep -o "[0-9]* API calls" "$WORK/$label.out" | awk '{print $1}')
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  printf '%-10s incidents=%s wall=%ss rate=%.0f incidents/s peak_rss=%.0fMB api_calls=%s at_600_per_minute=%.1fmin\n' \
    "$label" "$N" "$secs" "$(echo "$N / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$calls" \
    "$(echo "$calls / 600" | bc -l)"
  grep -E "^(incidents|log_entries|custom_field_values) " "$WORK/$label.out" | sed 's/^/           /'
}

run sqlite "sqlite://$WORK/bench.db?mode=rwc"
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  DB="pagerlens_bench_$$"
  psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $DB"
  PGURL="$(echo "$BENCH_POSTGRES_URL" | sed -E "s#/[^/]*\$#/$DB#")"
  run postgres "$PGURL"
  psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
fi
