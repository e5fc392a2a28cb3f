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

seed_sqlite() { # path
  DATABASE_URL="sqlite://$1?mode=rwc" PAGERLENS_LOG=warn "$BIN" migrate up >/dev/null
  sqlite3 "$1" <<SQL
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 49)
INSERT INTO services (id, name, status, created_at, updated_at)
SELECT printf('PBS%02d', i), 'Service ' || i, 'active', '2025-01-01T00:00:00+00:00', '2025-01-01T00:00:00+00:00' FROM s;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $N - 1)
INSERT INTO incidents (id, incident_number, title, status, urgency, service_id, source, escalation_count,
                       created_at, acknowledged_at, resolved_at, updated_at)
SELECT printf('PB%07d', i), i + 1, 'Incident ' || i || ' on service ' || (i % 50),
       CASE i % 4 WHEN 0 THEN 'triggered' WHEN 1 THEN 'acknowledged' ELSE 'resolved' END,
       CASE i % 2 WHEN 0 THEN 'high' ELSE 'low' END, printf('PBS%02d', i % 50), 'pagerduty', i % 3,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30) || ' seconds'),
       CASE WHEN i % 4 > 0 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30 + 300) || ' seconds') END,
       CASE WHEN i % 4 > 1 THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', '2025-01-01', '+' || (i * 30 + 3600) || ' seconds') END,
       '2026-01-01T00:00:00+00:00'
FROM n;
SQL
}

seed_postgres() { # url
  DATABASE_URL="$1" PAGERLENS_LOG=warn "$BIN" migrate up >/dev/null
  psql "$1" -q <<SQL
INSERT INTO services (id, name, status, created_at, updated_at)
SELECT 'PBS' || lpad(i::text, 2, '0'), 'Service ' || i, 'active', now(), now() FROM generate_series(0, 49) i;
INSERT INTO incidents (id, incident_number, title, status, urgency, service_id, source, escalation_count,
                       created_at, acknowledged_at, resolved_at, updated_at)
SELECT 'PB' || lpad(i::text, 7, '0'), i + 1, 'Incident ' || i || ' on service ' || (i % 50),
       CASE i % 4 WHEN 0 THEN 'triggered' WHEN 1 THEN 'acknowledged' ELSE 'resolved' END,
       CASE i % 2 WHEN 0 THEN 'high' ELSE 'low' END, 'PBS' || lpad((i % 50)::text, 2, '0'), 'pagerduty', i % 3,
       timestamptz '2025-01-01' + i * interval '30 seconds',
       CASE WHEN i % 4 > 0 THEN timestamptz '2025-01-01' + (i * 30 + 300) * interval '1 second' END,
       CASE WHEN i % 4 > 1 THEN timestamptz '2025-01-01' + (i * 30 + 3600) * interval '1 second' END,
       now()
FROM generate_series(0, $N - 1) i;
ANALYZE incidents;
SQL
}

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
