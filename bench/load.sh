#!/usr/bin/env bash
# Load and fault tests, bounded in time, loopback only, each part a separate
# process: the release server on PostgreSQL with 100,000 seeded incidents,
# the PagerDuty simulator, and examples/loadgen.rs as the clients.
#
#  1. Load: CLIENTS (200) GraphQL clients for LOAD_SECONDS (60) while a full
#     PagerDuty sync and a 100,000-row XLSX report run. Expect errors=0.
#  2. PagerDuty outage: the simulator answers 503 to everything for
#     OUTAGE_SECONDS (40) while a sync is asked for and 50 clients read
#     analytics and the live on-call look-up (cached). Expect the sync to
#     retry and then succeed, clients errors=0, no incident lost.
#  3. PostgreSQL restart (only when BENCH_PG_RESTART holds the command that
#     restarts the server): 50 clients for 30 s and a 100,000-row report
#     while PostgreSQL restarts. Expect the same server process to answer
#     again without a restart, and the report job to finish.
#
# Usage: BENCH_POSTGRES_URL=postgres://USER@HOST:5432/postgres \
#        [BENCH_PG_RESTART='pg_ctlcluster 15 main restart'] bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BENCH_POSTGRES_URL:?set BENCH_POSTGRES_URL to the PostgreSQL server to create the load database on}"
N=100000
CLIENTS="${CLIENTS:-200}"
LOAD_SECONDS="${LOAD_SECONDS:-60}"
OUTAGE_SECONDS="${OUTAGE_SECONDS:-40}"
cargo build --release --quiet --bin pagerlens --example loadgen
BIN="$PWD/target/release/pagerlens"
LOADGEN="$PWD/target/release/examples/loadgen"
WORK="$(mktemp -d)"
PORT=$((20000 + RANDOM % 20000))
SIMPORT=$((PORT + 1))
SIM="http://127.0.0.1:$SIMPORT"
SERVER=""
SIMULATOR=""
DB="pagerlens_load_$$"
PGURL="$(echo "$BENCH_POSTGRES_URL" | sed -E "s#/[^/]*\$#/$DB#")"
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  [ -n "$SIMULATOR" ] && kill "$SIMULATOR" 2>/dev/null
  psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# shellcheck source=bench/seed.sh
source bench/seed.sh

say() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

gql() { # query → body (fails on HTTP errors)
  curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    --data "$(jq -cn --arg q "$1" '{query: $q}')" "http://127.0.0.1:$PORT/graphql"
}

job() { # id → "STATUS attempts=N seconds=S error"
  gql "{ job(id: \"$1\") { status attempts durationSeconds error } }" |
    jq -r '.data.job | "\(.status) attempts=\(.attempts) seconds=\(.durationSeconds // 0 | floor) \(.error // "")"'
}

wait_job() { # id limit-seconds → prints the final line
  local i line
  for i in $(seq 1 "$2"); do
    line=$(job "$1" || echo "UNREACHABLE")
    case "$line" in SUCCEEDED*|FAILED*|CANCELLED*) echo "$line"; return;; esac
    sleep 1
  done
  echo "TIMED OUT: $line"
}

incidents() { psql "$PGURL" -Atc "SELECT COUNT(*) FROM incidents"; }

psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $DB"
say "seeding $N incidents"
seed_postgres "$PGURL"
# PagerDuty numbers incidents per account: keep the seeded ones clear of the
# simulator's, which the sync adds to the same database.
psql "$PGURL" -qc "UPDATE incidents SET incident_number = incident_number + 10000000"
DATABASE_URL="$PGURL" PAGERLENS_LOG=warn "$BIN" user add load@example.com --role admin >/dev/null
TOKEN=$(DATABASE_URL="$PGURL" PAGERLENS_LOG=warn "$BIN" token create --user load@example.com --name load)

"$BIN" simulate-pagerduty --bind "127.0.0.1:$SIMPORT" --incidents 20000 --days 30 --services 40 \
  >"$WORK/simulator.log" 2>&1 &
SIMULATOR=$!
# One token stands for every client here, so the per-client GraphQL limit is
# off; PagerDuty's budget is the simulator's to enforce.
DATABASE_URL="$PGURL" PAGERLENS_BIND="127.0.0.1:$PORT" PAGERLENS_LOG=warn \
  PAGERDUTY_API_URL="$SIM" PAGERDUTY_TOKEN=simulator-token PAGERDUTY_REQUESTS_PER_MINUTE=0 \
  PAGERLENS_RATE_LIMIT_GRAPHQL=0 PAGERLENS_WORKERS=2 PAGERLENS_DB_MAX_CONNECTIONS=20 \
  PAGERLENS_REPORT_DIR="$WORK/reports" PAGERLENS_LIVE_TTL=5s PAGERLENS_LIVE_COOLDOWN=10s \
  PAGERLENS_CRON_SYNC=off PAGERLENS_CRON_PREWARM=off PAGERLENS_CRON_SLA_CHECK=off \
  PAGERLENS_CRON_SCHEDULED_REPORTS=off PAGERLENS_CRON_RETENTION=off PAGERLENS_CRON_REPORT_EXPIRY=off \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
for _ in $(seq 1 100); do curl -sf "$SIM/_simulator/outage" -H 'Authorization: Token token=simulator-token' >/dev/null && break; sleep 0.1; done

REPORT_REQUEST='mutation { requestReport(input: {kind: INCIDENTS, format: XLSX, filter: {from: "2025-01-01T00:00:00Z", to: "2025-03-01T00:00:00Z"}}) { id } }'
QUERY='{ incidents(first: 20) { edges { node { id title status service { name } } } } analytics(input: {lastDays: 30}) { summary { total } } }'

# 1. Load while a sync and a report run.
say "1. $CLIENTS clients for $LOAD_SECONDS s while a full sync and a $N-row XLSX report run"
"$LOADGEN" --url "http://127.0.0.1:$PORT/graphql" --token "$TOKEN" --query "$QUERY" \
  --concurrency "$CLIENTS" --seconds "$LOAD_SECONDS" >"$WORK/load1.txt" &
LOAD=$!
sleep 3
SYNC=$(gql 'mutation { runJobNow(kind: SYNC) { id } }' | jq -r .data.runJobNow.id)
REPORT=$(gql "$REPORT_REQUEST" | jq -r .data.requestReport.id)
wait "$LOAD"
say "   clients: $(cat "$WORK/load1.txt")"
say "   sync:    $(wait_job "$SYNC" 600)"
say "   report:  $(wait_job "$REPORT" 600) rows=$(gql "{ job(id: \"$REPORT\") { result } }" | jq -r '.data.job.result.rows // .data.job.result')"
say "   incidents stored: $(incidents)"

# 2. PagerDuty outage.
BEFORE=$(incidents)
EP=$(psql "$PGURL" -Atc "SELECT id FROM escalation_policies WHERE deleted_at IS NULL ORDER BY id LIMIT 1")
ANALYTICS="{ analytics(input: {lastDays: 30}) { summary { total fromCache } } onCallNow(escalationPolicyId: \"$EP\") { stale entries { userId } } }"
gql "$ANALYTICS" | jq -e '.data.onCallNow' >/dev/null # primes the live look-up's cache
say "2. PagerDuty answers 503 for $OUTAGE_SECONDS s; a sync is asked for; 50 clients read analytics and on-call"
curl -sf -X POST "$SIM/_simulator/outage" -H 'Authorization: Token token=simulator-token' --data '{"down": true}' \
  -H 'Content-Type: application/json' >/dev/null
T0=$(date +%s)
SYNC2=$(gql 'mutation { runJobNow(kind: SYNC) { id } }' | jq -r .data.runJobNow.id)
"$LOADGEN" --url "http://127.0.0.1:$PORT/graphql" --token "$TOKEN" --query "$ANALYTICS" \
  --concurrency 50 --seconds "$OUTAGE_SECONDS" >"$WORK/load2.txt"
say "   during the outage: sync $(job "$SYNC2"); on-call answered stale=$(gql "$ANALYTICS" | jq -r .data.onCallNow.stale)"
curl -sf -X POST "$SIM/_simulator/outage" -H 'Authorization: Token token=simulator-token' --data '{"down": false}' \
  -H 'Content-Type: application/json' >/dev/null
say "   clients: $(cat "$WORK/load2.txt")"
say "   sync:    $(wait_job "$SYNC2" 600) (finished $(( $(date +%s) - T0 )) s after the outage began)"
say "   sync runs: $(psql "$PGURL" -Atc "SELECT string_agg(status || coalesce(' (' || left(error, 60) || ')', ''), ', ' ORDER BY id) FROM sync_runs WHERE id > 1")"
say "   incidents before $BEFORE, after $(incidents)"

# 3. PostgreSQL restart.
if [ -n "${BENCH_PG_RESTART:-}" ]; then
  say "3. 50 clients for 30 s and a $N-row report while PostgreSQL restarts"
  "$LOADGEN" --url "http://127.0.0.1:$PORT/graphql" --token "$TOKEN" --query "$QUERY" \
    --concurrency 50 --seconds 30 >"$WORK/load3.txt" &
  LOAD=$!
  REPORT2=$(gql "$REPORT_REQUEST" | jq -r .data.requestReport.id)
  until job "$REPORT2" | grep -q '^RUNNING'; do sleep 0.2; done
  sleep 2
  say "   restarting PostgreSQL while the report job runs ($(job "$REPORT2"))"
  T0=$(date +%s.%N)
  bash -c "$BENCH_PG_RESTART"
  T1=$(date +%s.%N)
  until curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.1; done
  T2=$(date +%s.%N)
  say "   restart took $(echo "$T1 - $T0" | bc) s; /readyz answered 200 $(echo "$T2 - $T1" | bc) s after it returned"
  wait "$LOAD"
  say "   clients: $(cat "$WORK/load3.txt") (errors are requests in flight while the database was down)"
  say "   report:  $(wait_job "$REPORT2" 600)"
  kill -0 "$SERVER" && say "   the server process $SERVER never restarted"
  say "   after: $(gql '{ incidents(first: 1) { totalCount } }' | jq -c .data)"
fi
say "server log warnings and errors: $(grep -c -E '"level":"(WARN|ERROR)"|WARN|ERROR' "$WORK/server.log" || true)"
grep -E 'WARN|ERROR' "$WORK/server.log" | sed -E 's/^.{0,30}//' | sort | uniq -c | sort -rn | head -8 || true
