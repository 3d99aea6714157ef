#!/usr/bin/env bash
# CPU profile of one phase of the doctor benchmark (bare | creations | reads) with perf and the .NET perf map.
# Usage: bash bench/profile-doctor.sh [phase] [seconds] [concurrency]; needs BATON_RABBITMQ, BATON_REDIS and perf.
# Writes /tmp/doctor-<phase>.perf.data and prints the top symbols by self time (this process only; not the broker).
set -euo pipefail
phase=${1:-creations}; seconds=${2:-5}; concurrency=${3:-64}
root=$(cd "$(dirname "$0")/.." && pwd)
dotnet build "$root/bench/Baton.Bench" -c Release -v q -nologo >/dev/null
log=$(mktemp)
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 DOTNET_ReadyToRun=0 DOTNET_TieredCompilation=0 dotnet "$root/bench/Baton.Bench/bin/Release/net10.0/Baton.Bench.dll" --doctor \
  --doctor-concurrency "$concurrency" --doctor-requests 4000 >"$log.out" 2>"$log" &
bench=$!
until grep -q "# phase $phase" "$log" 2>/dev/null; do
  kill -0 $bench 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.2
done
pid=$(grep "# phase $phase" "$log" | sed 's/.*pid //')
perf record -F 499 -g -p "$pid" -o "/tmp/doctor-$phase.perf.data" -- sleep "$seconds" 2>/dev/null
wait $bench
cat "$log.out"
perf report -i "/tmp/doctor-$phase.perf.data" --no-children --sort sym -g none --stdio 2>/dev/null | grep -v '^#' | grep '%' | head -70
