#!/usr/bin/env bash
# Dashboard benchmark: the page of one run with many steps. Starts the real server (Release) on SQLite in a temp
# directory, runs one demo run, stops the server, adds STEPS succeeded steps with one attempt each to that run's rows
# (sqlite3 from Python; a workflow that makes 50,000 steps takes minutes to run), starts the server again, signs in
# through the sign-in form and requests the run's page VIEWS times, then its API JSON once. Prints, per view, the
# wall time, the server's resident memory (VmRSS) after it, the page's size and its table rows.
# Usage: bench/dashboard-long-run.sh [STEPS] [VIEWS]     (defaults 50000 and 3; PORT=21600)
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-50000}"
views="${2:-3}"
port="${PORT:-21600}"
key="dashboard-long-run-key-$(date +%s)"
work="$(mktemp -d)"
dotnet build src/Baton.Server -c Release -v q -nologo >/dev/null
server=src/Baton.Server/bin/Release/net10.0/Baton.Server.dll
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start_server() {
  ASPNETCORE_ENVIRONMENT=Production ADMIN_KEY="$key" BATON_PORT="$port" Baton__Demo__Enabled=true \
    Baton__Store__Sqlite__Path="$work/baton.db" ASPNETCORE_CONTENTROOT="$work" dotnet "$server" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.2; done
  echo "the server did not start"; cat "$work/server.log"; exit 1
}

start_server
run=$(curl -s -X POST -H "X-ADMIN-KEY: $key" -H 'Content-Type: application/json' -d '{"items":1,"delayMs":0}' \
  "http://127.0.0.1:$port/api/workflows/demo/runs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 1 100); do
  curl -s -H "X-ADMIN-KEY: $key" "http://127.0.0.1:$port/api/runs/$run/summary" | grep -q '"status":"succeeded"' && break; sleep 0.1
done
kill "$pid"; wait "$pid" || true; pid=
python3 - "$work/baton.db" "$run" "$steps" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); run = sys.argv[2]; n = int(sys.argv[3]); t = 1767225600000
db.executemany("INSERT INTO steps (run_id,key,kind,status,result,error,error_type,attempts,started_at,completed_at) VALUES (?,?,0,1,?,NULL,NULL,1,?,?)",
  [(run, f"step-{i:06}", f'{{"n":{i},"text":"result of step {i}"}}', t + i, t + i + 1) for i in range(n)])
db.executemany("INSERT INTO step_attempts (run_id,step_key,attempt,started_at,ended_at,outcome,error_type,error_message) VALUES (?,?,1,?,?,1,NULL,NULL)",
  [(run, f"step-{i:06}", t + i, t + i + 1) for i in range(n)])
db.commit()
PY
start_server
rss() { awk '/VmRSS/{printf "%.0f MB", $2/1024}' "/proc/$pid/status"; }
jar="$work/jar"
form=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$port/ui/signin" | grep -o 'type="hidden" name="[^"]*" value="[^"]*"' | head -1)
name=$(sed 's/.*name="\([^"]*\)".*/\1/' <<<"$form"); value=$(sed 's/.*value="\([^"]*\)".*/\1/' <<<"$form")
curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "$name=$value" --data-urlencode "key=$key" "http://127.0.0.1:$port/ui/signin"
echo "# run with $steps steps + the demo's own, $(nproc) cores; server RSS before any view: $(rss)"
for v in $(seq 1 "$views"); do
  t=$(curl -s -o "$work/page.html" -w '%{time_total}' -b "$jar" "http://127.0.0.1:$port/ui/runs/$run")
  echo "view $v: ${t} s, RSS after $(rss), page $(stat -c %s "$work/page.html") bytes, $(grep -c '<tr' "$work/page.html") rows"
done
curl -s -o /dev/null -w "GET /api/runs/{id}: %{size_download} bytes in %{time_total} s" -H "X-ADMIN-KEY: $key" "http://127.0.0.1:$port/api/runs/$run"
echo ", RSS after $(rss)"
