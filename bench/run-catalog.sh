#!/usr/bin/env bash
# Catalog sync benchmark (issue 5): the catalog-feed simulator serves N products (default 300,000,
# ~660 MB) over loopback; the Baton server (Release, Production, SQLite store) syncs them cold into an
# empty catalog database, then again after the simulated day moved on (1 % of the products changed).
# Prints a Markdown table: records, wall time of each run (start to finish, fetch included),
# records/s, the phases' times, and the server's peak RSS (VmHWM) after each run.
# With target=postgres the catalog is PostgreSQL (a fresh database baton_bench_catalog_<pid> on
# BENCH_POSTGRES, default the local test server, dropped at the end), and after the two syncs the same records, exported
# as CSV of the same 16 columns, are loaded with psql's \copy into a new logged table with the same
# primary key: the machine's raw COPY rate, which the sync's rate is given as a ratio of.
# Runtime knobs pass through the environment, e.g. DOTNET_gcServer=0 or DOTNET_GCConserveMemory=5.
# Usage: bash bench/run-catalog.sh [products] [chunk-size] [parallelism] [sqlite|postgres]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
products="${1:-300000}"
chunk="${2:-5000}"
parallelism="${3:-2}"
target="${4:-sqlite}"
pg_base="${BENCH_POSTGRES:-Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres}"
pg_db=baton_bench_catalog_$$
key="bench-$(date +%s)-key"
work="$(mktemp -d /tmp/baton-catalog-bench.XXXXXX)"
feed_port=$((20000 + RANDOM % 10000))
server_port=$((30000 + RANDOM % 10000))
pids=()
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$work/server.log" ]; then echo "failed ($rc); the server's log ends:" >&2; tail -30 "$work/server.log" >&2; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"
  if [ "$target" = postgres ]; then psql -qX -d postgres -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

catalog_env=(Baton__Apps__CatalogSync__DatabasePath="$work/catalog.db")
if [ "$target" = postgres ]; then
  # psql settings from the same connection string (host, port, user, password).
  eval "$(python3 -c '
import sys, shlex
k = {a.strip().lower(): b for a, b in (p.split("=", 1) for p in sys.argv[1].split(";") if p)}
env = {"PGHOST": k.get("host", "127.0.0.1"), "PGPORT": k.get("port", "5432"), "PGUSER": k.get("username", "postgres"), "PGPASSWORD": k.get("password", "")}
print("export " + " ".join(n + "=" + shlex.quote(v) for n, v in env.items()))
' "$pg_base")"
  psql -qX -d postgres -c "DROP DATABASE IF EXISTS $pg_db" -c "CREATE DATABASE $pg_db" >/dev/null
  catalog_env=(Baton__Apps__CatalogSync__Products__Provider=Postgres "Baton__Apps__CatalogSync__Products__ConnectionString=$pg_base;Database=$pg_db")
fi

dotnet build src/Baton.Server -c Release -nologo -v q >/dev/null
dotnet build tools/Baton.Simulators -c Release -nologo -v q >/dev/null

start_feed() { # day
  dotnet tools/Baton.Simulators/bin/Release/net10.0/Baton.Simulators.dll catalog-feed --port "$feed_port" --products "$products" --day "$1" --change-fraction 0.01 --user bench --password bench-secret --prerender true >"$work/feed-$1.log" 2>&1 &
  feed_pid=$!
  pids+=("$feed_pid")
  for _ in $(seq 1 600); do grep -q "catalog-feed:" "$work/feed-$1.log" && return; sleep 0.2; done
  echo "feed did not start" >&2; cat "$work/feed-$1.log" >&2; exit 1
}

export "${catalog_env[@]}"
ASPNETCORE_ENVIRONMENT=Production ADMIN_KEY="$key" BATON_PORT="$server_port" \
Baton__Store__Sqlite__Path="$work/baton.db" Baton__Demo__Enabled=false \
Baton__Apps__CatalogSync__Enabled=true Baton__Apps__CatalogSync__Schedule__Enabled=false \
Baton__Apps__CatalogSync__ChunkSize="$chunk" Baton__Apps__CatalogSync__Parallelism="$parallelism" \
Baton__Apps__CatalogSync__BlobDirectory="$work/feeds" \
MEDIPIM_API_URL="http://127.0.0.1:$feed_port/v4/products/stream" MEDIPIM_API_KEY_ID=bench MEDIPIM_API_KEY_SECRET=bench-secret \
  dotnet src/Baton.Server/bin/Release/net10.0/Baton.Server.dll >"$work/server.log" 2>&1 &
server_pid=$!
pids+=("$server_pid")
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$server_port/healthz" >/dev/null && break; sleep 0.2; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sys_ticks() { awk '{print $15}' "/proc/$1/stat"; }

sync() { # label, rate file
  local run status cpu0 sys0
  cpu0=$(cpu_ticks "$server_pid")
  sys0=$(sys_ticks "$server_pid")
  run=$(curl -sf -X POST -H "X-ADMIN-KEY: $key" "http://127.0.0.1:$server_port/sync" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"]["runId"])')
  while true; do
    status=$(curl -sf -H "X-ADMIN-KEY: $key" "http://127.0.0.1:$server_port/api/runs/$run" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    case "$status" in succeeded|failed|cancelled) break ;; esac
    sleep 0.5
  done
  local hwm cpu
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
  # What the resident memory is made of now (not at the peak): anonymous (GC heap and native) and mapped files (code).
  { printf 'after the %s run: ' "${1%%,*}"; awk '/RssAnon|RssFile/ {printf "%s %.0f MB ", $1, $2 / 1024}' "/proc/$server_pid/status"; echo; } >>"$work/rss.txt"
  # The server's CPU time for this sync (user + system), from /proc: robust to other work on the machine.
  cpu=$(( $(cpu_ticks "$server_pid") - cpu0 ))
  # Of which the kernel's (system time): the feed written into and read back from the page cache, the sockets.
  echo "server CPU of the ${1%%,*} run: $(( cpu - ($(sys_ticks "$server_pid") - sys0) ))0 ms user, $(( $(sys_ticks "$server_pid") - sys0 ))0 ms system" >>"$work/rss.txt"
  curl -sf -H "X-ADMIN-KEY: $key" "http://127.0.0.1:$server_port/api/runs/$run" | python3 -c '
import json, sys
from datetime import datetime
label, hwm, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[4]) / 100
r = json.load(sys.stdin)
def t(s): return datetime.fromisoformat(s.replace("Z", "+00:00"))
wall = (t(r["completedAt"]) - t(r["startedAt"])).total_seconds()
steps = {s["key"]: s for s in r["steps"]}
def dur(prefix):
    xs = [s for k, s in steps.items() if k == prefix or k.startswith(prefix + "/")]
    if not xs: return 0.0
    return (max(t(s["completedAt"]) for s in xs) - min(t(s["startedAt"]) for s in xs)).total_seconds()
o = r.get("output") or {}
rec = o.get("records", 0)
st, ins, upd, skp, mb = r["status"], o.get("inserted", 0), o.get("updated", 0), o.get("skipped", 0), o.get("bytes", 0) / 1e6
f, c = dur("fetch"), dur("chunks")
chunk_steps = [s for k, s in steps.items() if k.startswith("chunks/")]
# Chunks run while the feed downloads: the time the processing went on after the download ended.
tail = (max(t(s["completedAt"]) for s in chunk_steps) - t(steps["fetch"]["completedAt"])).total_seconds() if chunk_steps and "fetch" in steps else 0.0
open(sys.argv[3], "w").write(f"{rec/wall} {rec/max(c, 0.001)}")
print(f"| {label} | {st} | {rec} | {ins} / {upd} / {skp} | {mb:.0f} MB | {wall:.1f} s | {rec/wall:,.0f} | {f:.1f} / {c:.1f} / {tail:.1f} s | {rec/max(c, 0.001):,.0f} | {hwm/1024:.0f} MB | {cpu:.1f} s ({cpu * 1e6 / max(rec, 1):.0f} µs/record) |")
' "$1" "$hwm" "$2" "$cpu"
}

echo "| run | status | records | inserted / updated / skipped | feed | wall (start to finish) | records/s (wall) | fetch / chunks (overlapping) / after the fetch | records/s (chunks) | server peak RSS (VmHWM) | server CPU |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
start_feed 1
sync "cold, $products products, $target, chunk $chunk, parallelism $parallelism" "$work/cold.rate"
kill "$feed_pid"; wait "$feed_pid" 2>/dev/null || true
start_feed 2
sync "warm, day 2 (1 % changed)" "$work/warm.rate"
echo
if [ "$target" = postgres ]; then
  cols='id, name, status, organization, brand, "eanGtin13", "eanGtin14", "artgId", pbs, "snomedMpp", "snomedTpp", "gs1Category", "createdAt", "metaUpdatedAt", raw, updated_at'
  psql -qX -d "$pg_db" -c "\\copy (SELECT $cols FROM products) TO '$work/products.csv' WITH (FORMAT csv)"
  psql -qX -d "$pg_db" -c "CREATE TABLE copy_baseline (id text PRIMARY KEY, name text, status text, organization text, brand text, \"eanGtin13\" text, \"eanGtin14\" text, \"artgId\" text, pbs text, \"snomedMpp\" text, \"snomedTpp\" text, \"gs1Category\" text, \"createdAt\" bigint, \"metaUpdatedAt\" bigint NOT NULL, raw json NOT NULL, updated_at timestamptz NOT NULL)"
  t0=$(date +%s.%N)
  psql -qX -d "$pg_db" -c "\\copy copy_baseline FROM '$work/products.csv' WITH (FORMAT csv)"
  t1=$(date +%s.%N)
  rows=$(psql -qXtA -d "$pg_db" -c "SELECT count(*) FROM copy_baseline")
  python3 -c '
import sys
rows, secs, mb = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]), int(sys.argv[4]) / 1e6
cold_wall, cold_chunks = map(float, open(sys.argv[5]).read().split())
rate = rows / secs
print(f"COPY baseline: psql \\copy of {rows} rows ({mb:.0f} MB of CSV, the same 16 columns) into a logged table with the same primary key: {secs:.1f} s, {rate:,.0f} rows/s")
print(f"cold sync / COPY: {cold_chunks / rate:.2f} (chunk phase), {cold_wall / rate:.2f} (wall, fetch included)")
' "$rows" "$t0" "$t1" "$(stat -c %s "$work/products.csv")" "$work/cold.rate"
  echo "products: $(psql -qXtA -d "$pg_db" -c "SELECT pg_total_relation_size('products') / 1048576") MB (PostgreSQL $(psql -qXtA -d "$pg_db" -c 'SHOW server_version'))"
else
  echo "catalog.db: $(du -m "$work/catalog.db" | cut -f1) MB"
fi
sed 's/^/server: /' "$work/rss.txt"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%d)"
