#!/usr/bin/env bash
# Report benchmark: N incidents (default 1,000,000) over 50 services are
# inserted straight into a fresh database with SQL, then the release binary
# writes the incidents report to XLSX and to CSV under /usr/bin/time -v.
# Prints wall time, rows/s, peak memory (max RSS), file size and the longest
# gap between two progress updates. SQLite always; PostgreSQL too when
# BENCH_POSTGRES_URL is set.
# Usage: bench/report.sh [INCIDENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
cargo build --release --quiet --bin pagerlens
BIN="$PWD/target/release/pagerlens"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=bench/seed.sh
source bench/seed.sh

run() { # label database-url format
  local label="$1" url="$2" fmt="$3" out="$WORK/report.$3"
  /usr/bin/time -v env DATABASE_URL="$url" PAGERLENS_LOG=info PAGERLENS_LOG_FORMAT=json \
    "$BIN" report incidents --format "$fmt" -o "$out" >"$WORK/$label.out" 2>"$WORK/$label.err"
  local wall rss secs gap size
  wall=$(grep "Elapsed (wall clock)" "$WORK/$label.err" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/$label.err" | awk '{print $NF}')
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  size=$(stat -c %s "$out")
  # Longest gap between two progress lines (one per page of rows).
  gap=$(grep '"progress"' "$WORK/$label.err" | grep -o '"timestamp":"[^"]*"' | cut -d'"' -f4 |
    while read -r t; do date -d "$t" +%s.%N; done |
    awk 'NR > 1 { d = $1 - prev; if (d > max) max = d } { prev = $1 } END { printf "%.2f", max }')
  printf '%-16s rows=%s wall=%ss rate=%.0f rows/s peak_rss=%.0fMB file=%.0fMB max_progress_gap=%ss\n' \
    "$label" "$N" "$secs" "$(echo "$N / $secs" | bc -l)" "$(echo "$rss / 1024" | bc -l)" \
    "$(echo "$size / 1048576" | bc -l)" "$gap"
  rm -f "$out"
}

seed_sqlite "$WORK/bench.db"
run sqlite-xlsx "sqlite://$WORK/bench.db?mode=rwc" xlsx
run sqlite-csv "sqlite://$WORK/bench.db?mode=rwc" csv
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  DB="pagerlens_bench_$$"
  psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $DB"
  PGURL="$(echo "$BENCH_POSTGRES_URL" | sed -E "s#/[^/]*\$#/$DB#")"
  seed_postgres "$PGURL"
  run postgres-xlsx "$PGURL" xlsx
  run postgres-csv "$PGURL" csv
  psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
fi
