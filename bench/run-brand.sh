#!/usr/bin/env bash
# Brand insights benchmark (seed 001 on Baton), end to end: the brand-workers simulator RPUSHes chunk results onto a
# private redis-server, the real server (Release) merges them into summary:brand:<brand>. Per store, two phases:
#   drain  CHUNKS chunks over BRANDS brands are pushed first, then the brands are added to brands:list: chunks/s merged
#          = CHUNKS / (last chunk counted in its summary - registration)
#   paced  PACED_CHUNKS more chunks (new brands) pushed at PACED_RATE/s while the server runs: push-to-summary latency
#          p50/p90/p99 (a poller reads every brand's totalChunks every ~10 ms; a chunk counts as merged at the first poll
#          whose totalChunks reaches its position in its brand's push order)
# then the server's peak RSS (VmHWM over both phases) and a --verify of every summary against the simulator's independent
# computation (exactly once). On SQLite also the raw Redis limit of the consumption pattern (Baton.Bench --redis-raw:
# LMOVE + LREM per item, and the trigger's batched scripts) on the same Redis, for the ratio. PostgreSQL: BATON_POSTGRES's
# server, a database of its own (dropped afterwards). Everything on 127.0.0.1; the script stops what it started.
#
#   bash bench/run-brand.sh                                    # 200,000 chunks over 50 brands, SQLite then PostgreSQL
#   STORES=sqlite CHUNKS=50000 bash bench/run-brand.sh
#   SERVER_ENV="CONCURRENCY_LIMIT=10" bash bench/run-brand.sh  # extra settings for the server
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

CHUNKS="${CHUNKS:-200000}"
BRANDS="${BRANDS:-50}"
PACED_CHUNKS="${PACED_CHUNKS:-20000}"
PACED_RATE="${PACED_RATE:-2000}"
STORES="${STORES:-sqlite postgres}"
REDIS_PORT="${REDIS_PORT:-16391}"
PG="${BATON_POSTGRES:-Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres}"
work="$(mktemp -d /tmp/baton-brand-bench.XXXXXX)"
pids=()
log() { printf '[run-brand] %s\n' "$*" >&2; }
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

log "building (Release)"
dotnet build src/Baton.Server/Baton.Server.csproj -c Release -v q -nologo >/dev/null
dotnet build tools/Baton.Simulators/Baton.Simulators.csproj -c Release -v q -nologo >/dev/null
dotnet build bench/Baton.Bench/Baton.Bench.csproj -c Release -v q -nologo >/dev/null
server_dll="$root/src/Baton.Server/bin/Release/net10.0/Baton.Server.dll"
sim_dll="$root/tools/Baton.Simulators/bin/Release/net10.0/Baton.Simulators.dll"
bench_dll="$root/bench/Baton.Bench/bin/Release/net10.0/Baton.Bench.dll"
sim() { dotnet "$sim_dll" brand-workers --redis "127.0.0.1:$REDIS_PORT" "$@"; }
brands_seen() { curl -fs http://127.0.0.1:16390/health | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["brands"]))'; }

run_store() {
  local store="$1" dir="$work/$1" db="baton_brand_bench_$$"
  mkdir -p "$dir"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --daemonize yes --pidfile "$dir/redis.pid" >/dev/null
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
  local store_env=(BATON_STORE=sqlite "Baton__Store__Sqlite__Path=$dir/baton.db")
  if [[ "$store" == postgres ]]; then
    PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" >/dev/null
    store_env=(BATON_STORE=postgres "BATON_POSTGRES=${PG%;Database=*};Database=$db")
  fi

  # drain: push everything first (the brands are not in brands:list yet, so nothing is read), then register them.
  log "$store: pushing $CHUNKS chunks over $BRANDS brands"
  sim --brands "$BRANDS" --chunks "$CHUNKS" --timestamps "$dir/pushes.tsv" >&2
  redis-cli -p "$REDIS_PORT" DEL brands:list >/dev/null
  for i in $(seq 0 $((BRANDS - 1))); do printf 'brand-%03d\n' "$i"; done >"$dir/brands.txt"

  env -i PATH="$PATH" HOME="$HOME" DOTNET_ROOT="${DOTNET_ROOT:-}" ASPNETCORE_ENVIRONMENT=Production ADMIN_KEY="bench-$$" \
    BATON_PORT=16303 HTTP_PORT=16390 PROMETHEUS_PORT=16392 REDIS_URL="redis://127.0.0.1:$REDIS_PORT" ORCHESTRATOR_ID=bench \
    BRAND_REFRESH_INTERVAL_SEC=0.5 Baton__Apps__BrandInsights__Enabled=true Baton__Demo__Enabled=false \
    Logging__LogLevel__Default=Warning LOG_LEVEL=warn "${store_env[@]}" ${SERVER_ENV:-} \
    dotnet "$server_dll" >"$dir/server.log" 2>&1 &
  local server_pid=$!
  pids+=("$server_pid")
  until curl -fs http://127.0.0.1:16390/health >/dev/null 2>&1; do sleep 0.1; done

  python3 bench/brand/latency.py "$REDIS_PORT" "$dir/brands.txt" "$CHUNKS" "$dir/samples.tsv" &
  local poller=$!
  local start_ms
  start_ms="$(date +%s%3N)"
  xargs redis-cli -p "$REDIS_PORT" SADD brands:list <"$dir/brands.txt" >/dev/null
  wait "$poller"
  echo "== $store: $CHUNKS chunks over $BRANDS brands ${SERVER_ENV:-}"
  python3 bench/brand/latency.py --report "$dir/pushes.tsv" "$dir/samples.tsv" "$start_ms"
  sim --brands "$BRANDS" --chunks "$CHUNKS" --verify --max-chunk-summaries 20 >"$dir/verify.txt" || true
  grep -m3 DIFF "$dir/verify.txt" || true
  tail -1 "$dir/verify.txt"

  # paced: new brands, registered first, then pushed at PACED_RATE while the server reads them.
  for i in $(seq 0 $((BRANDS - 1))); do printf 'paced-%03d\n' "$i"; done >"$dir/paced.txt"
  xargs redis-cli -p "$REDIS_PORT" SADD brands:list <"$dir/paced.txt" >/dev/null
  until [[ "$(brands_seen)" == "$((BRANDS * 2))" ]]; do sleep 0.2; done
  python3 bench/brand/latency.py "$REDIS_PORT" "$dir/paced.txt" "$PACED_CHUNKS" "$dir/paced-samples.tsv" &
  poller=$!
  log "$store: pushing $PACED_CHUNKS chunks over $BRANDS more brands at ${PACED_RATE}/s"
  sim --brands "$BRANDS" --chunks "$PACED_CHUNKS" --rate "$PACED_RATE" --brand-prefix paced- --seed 2 --timestamps "$dir/paced.tsv" >&2
  wait "$poller"
  python3 bench/brand/latency.py --report "$dir/paced.tsv" "$dir/paced-samples.tsv"
  awk '/VmHWM/ {printf "peak RSS of the server: %.0f MB\n", $2 / 1024}' "/proc/$server_pid/status"
  kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
  if [[ "$store" == postgres ]]; then PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db" >/dev/null; fi
  if [[ "$store" == sqlite && -z "${NO_RAW:-}" ]]; then
    echo "== raw Redis limit of the consumption pattern (Baton.Bench --redis-raw, same Redis)"
    dotnet "$bench_dll" --redis-raw "127.0.0.1:$REDIS_PORT" --redis-items 20000 | grep -v '^$'
  fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  sleep 0.2
}

for store in $STORES; do run_store "$store"; done
