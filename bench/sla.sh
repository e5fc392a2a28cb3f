#!/usr/bin/env bash
# SLA benchmark, with the release binary under /usr/bin/time -v, on SQLite and,
# when BENCH_POSTGRES_URL is set, on PostgreSQL:
#  1. Re-evaluation: N incidents (default 1,000,000; bench/seed.sh) get their
#     SLAs computed (`pagerlens sla-recompute` over every incident: the first
#     run inserts every target), recomputed with nothing changed (only the
#     running clocks are written), then every policy's targets are doubled
#     and the open SLAs re-evaluated as a policy change does
#     (`sla-recompute --open`, one transaction), then doubled again and all
#     are re-evaluated by today's policies (every target rewritten).
#  2. Breach check: M incidents (default 400,000, so 200,000 open ones) with
#     the open ones moved into the last 8 days (half high urgency: 4 h / 24 h,
#     half low: 24 h / 7 days; half acknowledged 5 minutes in), SLAs computed,
#     then `pagerlens sla-check` twice: the first pass marks the backlog (every
#     overdue target and crossed warning share), the second is the steady
#     state a 5-minute cron sees.
# Usage: bench/sla.sh [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
N_ALL="${1:-1000000}"
M="${2:-400000}"
cargo build --release --quiet --bin pagerlens
BIN="$PWD/target/release/pagerlens"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=bench/seed.sh
source bench/seed.sh

timed() { # label database-url args...
  local label="$1" url="$2"
  shift 2
  /usr/bin/time -v env DATABASE_URL="$url" PAGERLENS_LOG=warn "$BIN" "$@" \
    >"$WORK/$label.out" 2>"$WORK/$label.err"
  local wall rss
  wall=$(grep "Elapsed (wall clock)" "$WORK/$label.err" | awk '{print $NF}')
  rss=$(grep "Maximum resident set size" "$WORK/$label.err" | awk '{print $NF}')
  printf '%-28s wall=%s peak_rss=%.0fMB  %s\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)" \
    "$(tail -n1 "$WORK/$label.out")"
}

recompute() { # label url
  timed "$1" "$2" sla-recompute --from 2024-01-01 --to 2027-01-01
}

# Moves the open incidents into the last 8 days.
shift_sqlite() { # path
  sqlite3 "$1" <<SQL
UPDATE incidents SET
  created_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || ((incident_number * 7) % 691200) || ' seconds'),
  acknowledged_at = CASE WHEN status = 'acknowledged' THEN
    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || ((incident_number * 7) % 691200 - 300) || ' seconds') END
WHERE status <> 'resolved';
SQL
}

shift_postgres() { # url
  psql "$1" -q <<SQL
UPDATE incidents SET
  created_at = date_trunc('second', now()) - ((incident_number * 7) % 691200) * interval '1 second',
  acknowledged_at = CASE WHEN status = 'acknowledged' THEN
    date_trunc('second', now()) - ((incident_number * 7) % 691200 - 300) * interval '1 second' END
WHERE status <> 'resolved';
ANALYZE incidents;
SQL
}

# Doubles every policy's targets, as an admin's change would.
change_policies() { # url
  local sql="UPDATE sla_policies SET response_target_secs = 2 * response_target_secs,
             resolution_target_secs = 2 * resolution_target_secs;"
  case "$1" in
    sqlite://*) local path="${1#sqlite://}"; sqlite3 "${path%%\?*}" "$sql" ;;
    *) psql "$1" -qc "$sql" ;;
  esac
}

one_backend() { # kind url-all url-check
  local kind="$1" all="$2" check="$3"
  recompute "$kind-compute-$N_ALL" "$all"
  recompute "$kind-unchanged-$N_ALL" "$all"
  change_policies "$all"
  timed "$kind-policy-change-$N_ALL" "$all" sla-recompute --open
  change_policies "$all"
  recompute "$kind-reevaluate-$N_ALL" "$all"
  recompute "$kind-compute-$M" "$check"
  timed "$kind-check-backlog" "$check" sla-check
  timed "$kind-check-steady" "$check" sla-check
}

N="$N_ALL" seed_sqlite "$WORK/all.db"
N="$M" seed_sqlite "$WORK/check.db"
shift_sqlite "$WORK/check.db"
one_backend sqlite "sqlite://$WORK/all.db?mode=rwc" "sqlite://$WORK/check.db?mode=rwc"

if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
  A="pagerlens_bench_all_$$" C="pagerlens_bench_check_$$"
  psql "$BENCH_POSTGRES_URL" -qc "CREATE DATABASE $A" -c "CREATE DATABASE $C"
  base="${BENCH_POSTGRES_URL%/*}"
  N="$N_ALL" seed_postgres "$base/$A"
  N="$M" seed_postgres "$base/$C"
  shift_postgres "$base/$C"
  one_backend postgres "$base/$A" "$base/$C"
  psql "$BENCH_POSTGRES_URL" -qc "DROP DATABASE $A WITH (FORCE)" -c "DROP DATABASE $C WITH (FORCE)"
fi
