#!/usr/bin/env bash
# Turns the RESULT and SETTINGS lines that bench/peers/run.sh collected into the Markdown table, the settings and
# the notes. Usage: bash bench/peers/table.sh RESULTS_FILE
set -euo pipefail
awk '
function thousands(n,   s, r) {
  s = sprintf("%d", n + 0.5); r = ""
  while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
  return s r
}
function ms(v) { return v == "nan" ? "–" : (v + 0 >= 100 ? thousands(v) : sprintf(v + 0 < 1 ? "%.2f" : "%.1f", v)) }
# Rounds are joined with "; " (the element is read before it is assigned: some awks create it on the left first).
function add(key, value,   had) { had = (key in cell); if (had) value = cell[key] "; " value; cell[key] = value }
/^RESULT / {
  delete f
  for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
  k = f["store"] SUBSEP f["peer"]
  seen[k] = 1
  add(k SUBSEP "rate", thousands(f["jobs"] / f["seconds"]) (f["capped"] == "yes" ? " (capped at " int(f["seconds"]) " s)" : ""))
  add(k SUBSEP "load", ms(f["p50"]) " / " ms(f["p99"]))
  add(k SUBSEP "idle", ms(f["idle_p50"]) " / " ms(f["idle_p99"]))
  add(k SUBSEP "cpu", f["cpu_pg_us"] == "nan" ? thousands(f["cpu_own_us"]) : thousands(f["cpu_own_us"]) " + " thousands(f["cpu_pg_us"]))
  add(k SUBSEP "jobs", thousands(f["jobs"]))
  add(k SUBSEP "alloc", f["alloc_kb"] == "" || f["alloc_kb"] == "nan" ? "–" : sprintf("%.1f", f["alloc_kb"]))
}
/^SETTINGS / { line = substr($0, 10); if (!(line in settings)) { settings[line] = 1; order[++n] = line } }
END {
  name["baton"] = "Baton"; name["hangfire"] = "Hangfire 1.8.25"; name["quartz"] = "Quartz.NET 4.7.3"
  label["sqlite"] = "SQLite"; label["postgres"] = "PostgreSQL"
  print "| store | engine | jobs/s, started to finished (jobs per round) | trigger-to-start under load, p50 / p99 ms | one at a time, p50 / p99 ms | CPU per job, µs: process + PostgreSQL | managed allocation per job, KB |"
  print "|---|---|---|---|---|---|---|"
  split("sqlite postgres", stores, " "); split("baton hangfire quartz", peers, " ")
  for (s = 1; s <= 2; s++) for (p = 1; p <= 3; p++) {
    k = stores[s] SUBSEP peers[p]
    if (!(k in seen)) continue
    printf "| %s | %s | %s (%s) | %s | %s | %s | %s |\n", label[stores[s]], name[peers[p]], cell[k SUBSEP "rate"], cell[k SUBSEP "jobs"], cell[k SUBSEP "load"], cell[k SUBSEP "idle"], cell[k SUBSEP "cpu"], cell[k SUBSEP "alloc"]
  }
  print ""
  print "Settings:"
  print ""
  for (i = 1; i <= n; i++) print "- " order[i]
}' "$1"
cat <<'EOF'

Notes:

- Same job everywhere: a no-op body that records its trigger-to-start latency and increments a counter. Jobs are
  enqueued by 32 concurrent callers while the workers run; "started to finished" runs from the first enqueue until
  the store holds every job as finished (Baton: the run's final state committed; Hangfire: the job's Succeeded state;
  Quartz: the one-off trigger's row deleted after its firing completed). A capped round reports what finished by the cap.
- Under load, trigger-to-start is mostly time spent waiting in the backlog, so it grows with the number of jobs per
  round and is comparable only between rows with the same count; "one at a time" (the next job is enqueued after the
  previous one finished) is the pickup latency of an idle engine and compares directly.
- CPU per job: the benchmark process's own user + system time (client and workers in one process, for every engine),
  and on PostgreSQL the CPU of the server processes serving that round's fresh database plus the WAL writer and
  checkpointer, read from /proc before and after; divided by the jobs finished. Managed allocation per job is
  GC.GetTotalAllocatedBytes of the benchmark process over the same phase (callers included).
- What each stores per job differs. Baton: a run row (input, output, status, lease) and its step's stored result, so a
  crash resumes the run from its last completed step. Hangfire: a job row with its serialized invocation, its state
  history (Enqueued, Processing, Succeeded) and a queue entry; succeeded jobs expire after a day. Quartz: a trigger row
  with its job data plus a fired-trigger row while it runs; both are deleted when it completes, so no history is kept
  (its ExecutionHistory option is off by default and left off).
- Durability differs on SQLite: Baton runs ProcessCrashSafe (WAL, synchronous=NORMAL: survives a process crash, not a
  power loss; FullSync is the other mode); Hangfire.Storage.SQLite uses WAL with sqlite-net's defaults; Quartz uses
  Microsoft.Data.Sqlite's defaults. On PostgreSQL all three commit with the server's defaults (synchronous_commit on).
EOF
