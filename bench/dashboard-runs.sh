#!/usr/bin/env bash
# Dashboard benchmark: fills a store with N runs (default 1,000,000) through the store API in batches
# (Baton.Bench --fill-runs, no workflow executes), starts the real server on it with the worker off, signs in to
# the dashboard and requests the runs page (first page, a status filter, a workflow filter, a deep page, the run
# page) REPEAT times each. Prints the server-side time of each request (from the server's request log) as p50/max.
# Usage: bench/dashboard-runs.sh [N] [REPEAT]          SQLite in a temp directory
#        BATON_POSTGRES=... bench/dashboard-runs.sh [N]  PostgreSQL, in a fresh schema dropped at the end
#        BATON_POSTGRES=... DASH_SCHEMA=s bench/...      PostgreSQL, a schema filled before (kept; the fill takes ~6.5 min)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
repeat="${2:-20}"
port="${PORT:-18790}"
key="dashboard-bench-key-$(date +%s)"
work="$(mktemp -d)"
dotnet build bench/Baton.Bench -c Release -v q -nologo >/dev/null
dotnet build src/Baton.Server -c Release -v q -nologo >/dev/null

store_env=()
if [ -n "${BATON_POSTGRES:-}" ] && [ -n "${DASH_SCHEMA:-}" ]; then
  store_env=(BATON_STORE=postgres "BATON_POSTGRES=$BATON_POSTGRES" "Baton__Store__Postgres__Schema=$DASH_SCHEMA")
  echo "# PostgreSQL, existing schema $DASH_SCHEMA, $runs runs, $(nproc) cores"
elif [ -n "${BATON_POSTGRES:-}" ]; then
  schema="dash_$(date +%s)"
  dotnet bench/Baton.Bench/bin/Release/net10.0/Baton.Bench.dll --fill-runs "$runs" --postgres "$BATON_POSTGRES" --schema "$schema" | tail -1
  store_env=(BATON_STORE=postgres "BATON_POSTGRES=$BATON_POSTGRES" "Baton__Store__Postgres__Schema=$schema")
  echo "# PostgreSQL, schema $schema, $runs runs, $(nproc) cores"
else
  dotnet bench/Baton.Bench/bin/Release/net10.0/Baton.Bench.dll --fill-runs "$runs" --sqlite "$work/baton.db" | tail -1
  store_env=("Baton__Store__Sqlite__Path=$work/baton.db")
  echo "# SQLite, $runs runs, $(nproc) cores"
fi

env -i PATH="$PATH" HOME="$HOME" DOTNET_CLI_HOME="${DOTNET_CLI_HOME:-$HOME}" ASPNETCORE_ENVIRONMENT=Production ADMIN_KEY="$key" BATON_PORT="$port" \
  Baton__Engine__RunWorker=false "${store_env[@]}" \
  dotnet src/Baton.Server/bin/Release/net10.0/Baton.Server.dll >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -n "${schema:-}" ]; then
    PGPASSWORD=postgres psql "$BATON_POSTGRES" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

jar="$work/cookies"
token="$(curl -s -c "$jar" -b "$jar" "$base/ui/signin" | grep -o 'name="__RequestVerificationToken" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')"
curl -s -c "$jar" -b "$jar" -o /dev/null --data-urlencode "__RequestVerificationToken=$token" --data-urlencode "key=$key" -d returnUrl=/ui/runs "$base/ui/signin"

# A cursor deep in the list: the id of a run half-way (page 10,000 of 50).
middle="$(curl -s -b "$jar" "$base/ui/runs" | grep -o 'href="/ui/runs/[0-9a-f]*"' | head -1 | sed 's/.*runs\///; s/"//')"
deep_cursor="$(printf '%012x' $(( $(date +%s%3N) - runs * 1000 / 2 )))00000000000000000000"

time_path() {
  local label="$1" path="$2"
  for _ in 1 2 3; do curl -s -b "$jar" -H "X-ADMIN-KEY: $key" -o /dev/null "$base$path"; done  # warm-up
  : >"$work/times"
  for _ in $(seq 1 "$repeat"); do
    curl -s -b "$jar" -H "X-ADMIN-KEY: $key" -o /dev/null "$base$path"
  done
  sleep 0.3
  # The request log's ElapsedMs of the last REPEAT requests to this path (server-side time).
  grep -F "\"Path\":\"${path%%\?*}\"" "$work/server.log" | grep -o '"ElapsedMs":[0-9.]*' | tail -n "$repeat" | cut -d: -f2 | sort -n >"$work/times"
  local p50 max code
  code="$(curl -s -b "$jar" -H "X-ADMIN-KEY: $key" -o /dev/null -w '%{http_code}' "$base$path")"
  p50="$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' "$work/times")"
  max="$(tail -1 "$work/times")"
  printf '| %s | %s | %.1f ms | %.1f ms |\n' "$label" "$code" "$p50" "$max"
}

echo "| GET | HTTP | p50 (server) | max (server) |"
echo "|---|---|---|---|"
time_path "/ui/runs (first page, counts by status)" "/ui/runs"
time_path "/ui/runs?status=pending" "/ui/runs?status=pending"
time_path "/ui/runs?workflow=demo" "/ui/runs?workflow=demo"
time_path "/ui/runs?cursor=(half-way down)" "/ui/runs?cursor=$deep_cursor"
time_path "/ui/runs/{id}" "/ui/runs/$middle"
# The API's time filters where few runs match: created in the first hour of the fill (the scan from the newest run down
# to them), and created from now on (none).
early="$(date -u -d "@$(( $(date +%s) - runs + 3600 ))" +%Y-%m-%dT%H:%M:%SZ)"
later="$(date -u -d "@$(( $(date +%s) + 60 ))" +%Y-%m-%dT%H:%M:%SZ)"
time_path "/api/runs?createdBefore=(an hour after the first run)" "/api/runs?createdBefore=$early"
time_path "/api/runs?createdAfter=(a minute from now: none)" "/api/runs?createdAfter=$later"
