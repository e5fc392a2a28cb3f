#!/usr/bin/env bash
# Analytics benchmark: N incidents (default 1,000,000; see bench/seed.sh) in a
# fresh database, the release server on loopback, and GraphQL questions sent
# with curl from a separate process. For each question: the median and the
# slowest of 5 uncached answers (every run asks a different period, so none
# hits the cache), then the median and p99 of 50 cached answers. Times are
# curl's total (request to last byte over loopback), so they bound the
# server-side time from above. SQLite always; PostgreSQL too when
# BENCH_POSTGRES_URL is set.
# Usage: bench/analytics.sh [INCIDENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
cargo build --release --quiet --bin pagerlens --example loadgen
BIN="$PWD/target/release/pagerlens"
LOADGEN="$PWD/target/release/examples/loadgen"
WORK="$(mktemp -d)"
PORT=$((20000 + RANDOM % 20000))
SERVER=""
trap '[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT
# shellcheck source=bench/seed.sh
source bench/seed.sh

ask() { # token query-json → seconds
  curl -s -o "$WORK/answer.json" -w '%{time_total}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data "$2" "http://127.0.0.1:$PORT/graphql"
  if grep -q '"errors"' "$WORK/answer.json"; then cat "$WORK/answer.json" >&2; exit 1; fi
}

stats() { # label times… → median, max/p99 in ms
  printf '%s\n' "${@:2}" | sort -n | awk -v label="$1" '{ v[NR] = $1 * 1000 }
    END { p = int(NR * 0.99); if (p < 1) p = 1; printf "  %-34s n=%-3d median=%7.1f ms  %s=%7.1f ms\n",
      label, NR, v[int((NR + 1) / 2)], (NR >= 50 ? "p99" : "max"), v[(NR >= 50 ? p : NR)] }'
}

question() { # name selection target(json fragment) days
  local name="$1" selection="$2" target="$3" days="$4" token="$5" times=() i from to q
  for i in 1 2 3 4 5; do
    # A different end second each run: a different cache key, the same work.
    from="2025-06-01T00:00:0${i}Z"; to=$(date -u -d "2025-06-01 + $days days + $i seconds" +%Y-%m-%dT%H:%M:%SZ)
    # Calendars name a month, which replaces the period: a different month each run.
    q=$(printf '{"query":"{ analytics(input: {%s from: \\"%s\\", to: \\"%s\\", timeZone: \\"Europe/Paris\\"}) { %s } }"}' \
      "$target" "$from" "$to" "${selection//MONTH/2025-0$((i + 2))}")
    times+=("$(ask "$token" "$q")")
  done
  stats "$name uncached" "${times[@]}"
  times=()
  for i in $(seq 1 50); do times+=("$(ask "$token" "$q")"); done
  stats "$name cached" "${times[@]}"
}

metrics_question() { # name input(json fragment) days token
  local name="$1" input="$2" days="$3" token="$4" times=() i from to q
  for i in 1 2 3 4 5; do
    from="2025-06-01T00:00:0${i}Z"; to=$(date -u -d "2025-06-01 + $days days + $i seconds" +%Y-%m-%dT%H:%M:%SZ)
    q=$(printf '{"query":"{ incidentMetrics(input: {%s from: \\"%s\\", to: \\"%s\\", timeZone: \\"Europe/Paris\\"}) { rows { groupId totalIncidentCount meanSecondsToFirstAck p90SecondsToResolve totalInterruptions upTimePct } } }"}' \
      "$input" "$from" "$to")
    times+=("$(ask "$token" "$q")")
  done
  stats "$name uncached" "${times[@]}"
  times=()
  for i in $(seq 1 50); do times+=("$(ask "$token" "$q")"); done
  stats "$name cached" "${times[@]}"
}

responder_question() { # name days token
  local name="$1" days="$2" token="$3" times=() i from to q
  for i in 1 2 3 4 5; do
    from="2025-06-01T00:00:0${i}Z"; to=$(date -u -d "2025-06-01 + $days days + $i seconds" +%Y-%m-%dT%H:%M:%SZ)
    q=$(printf '{"query":"{ responderMetrics(input: {from: \\"%s\\", to: \\"%s\\"}) { rows { responderId totalIncidentCount meanTimeToAcknowledgeSeconds totalInterruptions totalSecondsOnCall } } }"}' \
      "$from" "$to")
    times+=("$(ask "$token" "$q")")
  done
  stats "$name uncached" "${times[@]}"
  times=()
  for i in $(seq 1 50); do times+=("$(ask "$token" "$q")"); done
  stats "$name cached" "${times[@]}"
}

bench() { # label database-url
  local label="$1" url="$2" token
  DATABASE_URL="$url" PAGERLENS_LOG=warn "$BIN" user add bench@example.com --role admin >/dev/null
  token=$(DATABASE_URL="$url" PAGERLENS_LOG=warn "$BIN" token create --user bench@example.com --name bench)
  # The per-credential GraphQL rate limit is off: this measures throughput,
  # and every request here comes from one token.
  DATABASE_URL="$url" PAGERLENS_BIND="127.0.0.1:$PORT" PAGERLENS_WORKERS=0 PAGERLENS_LOG=warn \
    PAGERLENS_RATE_LIMIT_GRAPHQL=0 "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  echo "$label ($N incidents):"
  local svc='serviceId: \"PBS07\",'
  question "summary, one service, 30 d" 'summary { total timeToAcknowledge { p90Seconds } }' "$svc" 30 "$token"
  question "summary, everything, 30 d" 'summary { total timeToAcknowledge { p90Seconds } }' "" 30 "$token"
  question "summary, everything, 90 d" 'summary { total outsideBusinessHours }' "" 90 "$token"
  question "calendar, one service" 'calendar(month: \"MONTH\") { days { incidents } }' "$svc" 30 "$token"
  question "trends by day, one service, 90 d" 'trends { points { incidents mttaSeconds } }' "$svc" 90 "$token"
  question "incidents per service, 30 d" 'incidentsPerService { services { incidents } }' "" 30 "$token"
  question "status counts, everything, 30 d" 'statusCounts { statuses { incidents } }' "" 30 "$token"
  question "dashboard (summary+calendar+trends)" \
    'summary { total } calendar(month: \"MONTH\") { days { incidents } } trends { points { incidents } }' "$svc" 30 "$token"
  metrics_question "incidentMetrics by service and day, 90 d" 'groupBy: SERVICE, aggregateUnit: DAY,' 90 "$token"
  metrics_question "incidentMetrics, everything, 90 d" '' 90 "$token"
  responder_question "responderMetrics, everyone, 30 d" 30 "$token"
  # The dashboard from the cache under load: separate process, loopback.
  local dash
  dash=$(printf '{ analytics(input: {%s lastDays: 30}) { summary { total timeToAcknowledge { p50Seconds } } calendar { days { incidents } } trends { points { incidents } } } }' "${svc//\\/}")
  "$LOADGEN" --url "http://127.0.0.1:$PORT/graphql" --token "$token" --query "$dash" --concurrency 1 --seconds 2 >/dev/null
  for c in 16 64; do
    printf '  %-34s ' "dashboard under load, $c clients"
    "$LOADGEN" --url "http://127.0.0.1:$PORT/graphql" --token "$token" --query "$dash" --concurrency "$c" --seconds 20
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
}

seed_sqlite "$WORK/bench.db"
bench sqlite "sqlite://$WORK/bench.db?mode=rwc"
if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  DB="pagerlens_bench_$$"
  psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $DB"
  PGURL="$(echo "$BENCH_POSTGRES_URL" | sed -E "s#/[^/]*\$#/$DB#")"
  seed_postgres "$PGURL"
  bench postgres "$PGURL"
  psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE $DB WITH (FORCE)"
fi
