#!/usr/bin/env bash
# Engine benchmark on the embedded SQLite store, in both durability modes. Results go to stdout as
# Markdown tables; BENCHMARKS.md records them with the machine and date.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet build bench/Baton.Bench -c Release -nologo -v q
for durability in ProcessCrashSafe FullSync; do
  dotnet bench/Baton.Bench/bin/Release/net10.0/Baton.Bench.dll --durability "$durability" "$@"
done
