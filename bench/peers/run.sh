#!/usr/bin/env bash
# Side-by-side benchmark (issue 19, section 5): Baton, Hangfire and Quartz.NET on the same machine, the same
# PostgreSQL server, the same no-op job that counts, in alternating rounds (Baton, Hangfire, Quartz, Baton, ...), on
# SQLite and on PostgreSQL. Prints one Markdown table, the settings of each peer and the notes. bench/peers/README.md
# says what is measured and how.
# Usage: bash bench/peers/run.sh [--quick] [--rounds N] [--stores sqlite,postgres] [--baton-jobs N] [--peer-jobs N]
#   --quick: one round, 5,000 Baton runs and 300 jobs per peer, 50 one at a time (about 7 minutes on a busy 2 cores)
#   default: three rounds, 20,000 Baton runs and 2,000 jobs per peer, 200 one at a time
# Needs a running PostgreSQL; connection from PGHOST/PGPORT/PGUSER/PGPASSWORD (defaults: 127.0.0.1, 5432,
# postgres, postgres). Every round of every peer gets a fresh database (or a fresh SQLite file), dropped after it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

rounds=3 baton_jobs=20000 peer_jobs=2000 latency=200 cap=120 stores="sqlite,postgres"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) rounds=1 baton_jobs=5000 peer_jobs=300 latency=50 cap=60; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --stores) stores="$2"; shift 2 ;;
    --baton-jobs) baton_jobs="$2"; shift 2 ;;
    --peer-jobs) peer_jobs="$2"; shift 2 ;;
    *) echo "unknown option: $1 (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" PGPASSWORD="${PGPASSWORD:-postgres}"
export PGOPTIONS="-c client_min_messages=warning"
work="$(mktemp -d)"
results="$work/results.txt"
current_db=""
cleanup() {
  [[ -n "$current_db" ]] && psql -qX -d postgres -c "DROP DATABASE IF EXISTS $current_db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building Baton.Bench and the peers (Release) ..." >&2
for project in bench/Baton.Bench bench/peers/Baton.Bench.Peers.Hangfire bench/peers/Baton.Bench.Peers.Quartz; do
  dotnet build "$project" -c Release -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
done
bin() { echo "bench/$1/bin/Release/net10.0/$2.dll"; }

# Baton.Bench prints Markdown; its single-step rows become the same RESULT line the peers print.
baton_result() {
  local store="$1" log="$2"
  local rate cpu idle alloc
  rate="$(grep -m1 ' single-step runs |' "$log")"
  cpu="$(grep -m1 '| CPU per single-step run |' "$log")"
  idle="$(grep -m1 '| trigger-to-start latency, one run at a time' "$log")"
  alloc="$(grep -m1 '| managed allocation per single-step run |' "$log" | sed -E 's/.*\| ([0-9.,]+) KB \|$/\1/; s/,//g')"
  local jobs seconds p50 p99 idle50 idle99 own pg
  jobs="$(sed -E 's/^\| ([0-9,]+) single-step.*/\1/; s/,//g' <<<"$rate")"
  seconds="$(sed -E 's/.*runs\/s \(([0-9.,]+) s;.*/\1/; s/,//g' <<<"$rate")"
  p50="$(sed -E 's/.*p50 under load ([0-9.,]+) ms.*/\1/; s/,//g' <<<"$rate")"
  p99="$(sed -E 's/.*under load [0-9.,]+ ms, p99 ([0-9.,]+) ms.*/\1/; s/,//g' <<<"$rate")"
  idle50="$(sed -E 's/.*\| p50 ([0-9.,]+) ms.*/\1/; s/,//g' <<<"$idle")"
  idle99="$(sed -E 's/.*ms, p99 ([0-9.,]+) ms.*/\1/; s/,//g' <<<"$idle")"
  if [[ "$store" == postgres ]]; then
    own="$(sed -E 's/.*\(([0-9,]+) µs \.NET.*/\1/; s/,//g' <<<"$cpu")"
    pg="$(sed -E 's/.*\.NET, ([0-9,]+) µs PostgreSQL.*/\1/; s/,//g' <<<"$cpu")"
  else
    own="$(sed -E 's/^\| CPU per single-step run \| ([0-9,]+) µs.*/\1/; s/,//g' <<<"$cpu")"
    pg=nan
  fi
  echo "RESULT peer=baton store=$store jobs=$jobs seconds=$seconds capped=no p50=$p50 p99=$p99 idle_p50=$idle50 idle_p99=$idle99 cpu_own_us=$own cpu_pg_us=$pg alloc_kb=$alloc"
}

run_one() {
  local peer="$1" store="$2" round="$3"
  local log="$work/$peer-$store-$round.log" dir="$work/$peer-$store-$round" target=()
  mkdir -p "$dir"
  if [[ "$store" == postgres ]]; then
    current_db="baton_peers_${peer}_${round}_$$"
    psql -qX -d postgres -c "CREATE DATABASE $current_db" >/dev/null
    target=(--postgres "Host=$PGHOST;Port=$PGPORT;Username=$PGUSER;Password=$PGPASSWORD;Database=$current_db")
  else
    target=(--dir "$dir")
  fi
  echo "round $round, $store: $peer ..." >&2
  # Each process stops by itself (fixed job counts and a cap per phase); timeout is the guard behind that.
  local status=0
  if [[ "$peer" == baton ]]; then
    timeout $((cap * 4 + 300)) dotnet "$(bin Baton.Bench Baton.Bench)" --single "$baton_jobs" --multi 0 --latency "$latency" "${target[@]}" >"$log" 2>&1 || status=$?
    [[ $status -eq 0 ]] && baton_result "$store" "$log" >>"$results"
    [[ $status -eq 0 ]] && echo "SETTINGS baton $store: Baton.Bench single-step (bench/Baton.Bench/EngineBench.cs): MaxConcurrentRuns 512, AttemptStartWriteDelay 100 ms, $([[ $store == postgres ]] && echo "PostgreSQL store, 1 node, a fresh schema" || echo "SQLite store, ProcessCrashSafe (synchronous=NORMAL), CheckpointInterval 100 ms"), 2,000-run warm-up" >>"$results"
  else
    local project="Baton.Bench.Peers.${peer^}"
    timeout $((cap * 4 + 120)) dotnet "$(bin "peers/$project" "$project")" --store "$store" --jobs "$peer_jobs" --warmup 200 --latency "$latency" --cap-seconds "$cap" "${target[@]}" >"$log" 2>&1 || status=$?
    [[ $status -eq 0 ]] && grep -E '^(RESULT|SETTINGS) ' "$log" >>"$results"
  fi
  if [[ $status -ne 0 ]]; then
    echo "$peer on $store, round $round, failed (exit $status); the end of its output:" >&2
    tail -20 "$log" >&2
  fi
  if [[ -n "$current_db" ]]; then
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $current_db WITH (FORCE)" >/dev/null
    current_db=""
  fi
  rm -rf "$dir"
}

started="$(date -u '+%Y-%m-%d %H:%M')"
for store in ${stores//,/ }; do
  for ((round = 1; round <= rounds; round++)); do
    for peer in baton hangfire quartz; do
      run_one "$peer" "$store" "$round"
    done
  done
done

echo
ended="$(date -u '+%H:%M')"
echo "Side by side, $started–$ended UTC, $(nproc) cores, .NET SDK $(dotnet --version 2>/dev/null), $rounds round(s), Baton at $(git rev-parse --short HEAD 2>/dev/null || echo '?'); one value per round, rounds separated by semicolons:"
echo
bash bench/peers/table.sh "$results"
