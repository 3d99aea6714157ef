#!/usr/bin/env bash
# Review gateway benchmark (seed 002 on Baton): wrk against POST /enqueue with a distinct placeId per
# request, on the embedded SQLite store, next to a minimal Kestrel endpoint that stores nothing
# (POST /noop on the worker-node simulator), then a check that every stored job reached the worker
# stand-in exactly once after duplicates are dropped by job id.
#
#   bash bench/run-gateway.sh                      # defaults: 15 s per phase, 2 threads, 32 connections
#   DURATION=30s CONNECTIONS=64 bash bench/run-gateway.sh
#
# Phases (each on a fresh store):
#   minimal  wrk on the simulator's POST /noop (same body shape), the reference rate
#   live     POST /enqueue while the gateway forwards to the simulator at the same time
#   burst    POST /enqueue with forwarding paused (Baton:Engine:RunWorker=false), then SIGTERM and a
#            restart with forwarding on: the accepted backlog drains after the restart
# After live and burst: wait until nothing is left to forward, then compare the store's job ids with
# what the simulator received. Everything listens on 127.0.0.1; the script stops what it started.
# Logging: the server runs in Production with Logging__LogLevel__Default=Warning
# (no per-request or per-run Information lines); set LOGS=info to keep the default Information level.
# PHASES="live" runs only the live phase (default "live burst").
# CPU: SERVER_CPU=1 adds lines with the server's CPU time (utime+stime from /proc/<pid>/stat) per
# accepted job: over the measured run alone, and from the start of the warm-up until every job is
# forwarded (accept + forward of every job; robust when the machine is shared); in the burst phase,
# accept alone (measured run) and forward alone (from the restart until the backlog is drained); and,
# for every phase, where the machine's cores went during the measured run (server, worker stand-in,
# the rest: wrk and kernel work, idle; from /proc/stat); in the live phase also counts that hold on a busy machine,
# per accepted job over the measured run: bytes allocated and thread-pool work items (the runtime's series on /metrics)
# and context switches (/proc/<pid>/task/*/status), bytes written to files (wchar in /proc/<pid>/io: the SQLite WAL and
# the checkpoint's copies), and the CPU of the SQLite writer's own thread per job; and, over the whole live phase, the
# runs created pending (no free run slot: claimed later) and the stalls of 100 ms or more in which no run ended (the
# forwards waiting). PROBE=1 (needs python3) probes GET /health on the gateway and on the stand-in every ~10 ms during the
# live phase's measured run and lists the probes that took 50 ms or more, to tell which process paused. SYSCALLS=1 (needs perf) adds system
# calls per job during the live phase's measured run (pwrite64: WAL frames, two calls each; pread64: pages read back from the WAL or the database file; fcntl: the WAL's locks, a
# few per commit; sendto; futex; epoll_wait), counted with `perf stat` on the syscall tracepoints. PERF_ENV=1 starts the
# server with DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 for `perf record -p`;
# PERF_RECORD=/path/perf.data (implies PERF_ENV=1) records 10 s of the live phase's measured run with perf -g
# (PERF_PHASE=burst records the accept-only run instead).
# SERVER_ENV="NAME=value ..." adds environment for the server only (runtime knobs for an experiment); SIM_ENV does the
# same for the worker-node stand-in, which serves both the minimal endpoint and the forwards.
# GC: the server runs with its own setting (workstation GC since 2026-11-30); SERVER_GC=1 or 0 forces
# DOTNET_gcServer for a comparison.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION="${DURATION:-15s}"
# Each server is loaded this long before the measured run (JIT tiering, pools, SQLite cache): the
# tables report the steady state. The warm-up's jobs are stored and verified like the others.
WARMUP="${WARMUP:-10s}"
THREADS="${THREADS:-2}"
CONNECTIONS="${CONNECTIONS:-32}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-600}"
WORKER_PORT="${WORKER_PORT:-13000}"
MAIN_PORT="${MAIN_PORT:-13003}"
GATEWAY_PORT="${GATEWAY_PORT:-18080}"
KEY="bench-key-$$"
work="$(mktemp -d /tmp/baton-gateway-bench.XXXXXX)"
pids=()

log() { printf '[run-gateway] %s\n' "$*" >&2; }
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

need() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  log "installing $pkg (apt)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
}
need wrk wrk
need sqlite3 sqlite3
need curl curl
if [ "${SYSCALLS:-}" = 1 ] || [ -n "${PERF_RECORD:-}" ]; then need perf linux-perf; fi

for port in "$WORKER_PORT" "$MAIN_PORT" "$GATEWAY_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port is in use; set WORKER_PORT / MAIN_PORT / GATEWAY_PORT"; exit 1
  fi
done

log "building (Release)"
dotnet build src/Baton.Server -c Release -nologo -v q >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
dotnet build tools/Baton.Simulators -c Release -nologo -v q >>"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }

wait_ok() { # url seconds
  local deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null "$1"; do
    [ $SECONDS -lt $deadline ] || { log "$1 did not answer within $2 s"; return 1; }
    sleep 0.2
  done
}

# shellcheck disable=SC2086
env ${SIM_ENV:-} dotnet tools/Baton.Simulators/bin/Release/net10.0/Baton.Simulators.dll worker-node --port "$WORKER_PORT" >"$work/worker.log" 2>&1 &
pids+=($!)
sim_pid=$!
wait_ok "http://127.0.0.1:$WORKER_PORT/health" 30

server_pid=""
start_server() { # db [extra env...]
  local db="$1"; shift
  local level=Warning
  [ "${LOGS:-}" = info ] && level=Information
  local perf_env=()
  [ "${PERF_ENV:-}" = 1 ] || [ -n "${PERF_RECORD:-}" ] && perf_env=(DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0)
  # shellcheck disable=SC2086
  (cd src/Baton.Server && exec env ${SERVER_GC:+DOTNET_gcServer="$SERVER_GC"} "${perf_env[@]}" ${SERVER_ENV:-} ASPNETCORE_ENVIRONMENT=Production ADMIN_KEY="$KEY" BATON_PORT="$MAIN_PORT" PORT="$GATEWAY_PORT" \
    WORKER_NODE_URL="http://127.0.0.1:$WORKER_PORT" Baton__Apps__ReviewGateway__Enabled=true Baton__Demo__Enabled=false \
    Baton__Store__Sqlite__Path="$db" Logging__LogLevel__Default="$level" "$@" \
    dotnet bin/Release/net10.0/Baton.Server.dll) >>"$work/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_ok "http://127.0.0.1:$GATEWAY_PORT/health" 60
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || { log "server exited with $?"; return 1; }
}

stat_ticks() { # /proc/.../stat -> utime + stime in clock ticks; fields are counted after the ") " that closes the
  # name, which may hold spaces (state is $1, utime $12, stime $13)
  sed 's/^.*) //' "$1" | awk '{print $12 + $13}'
}
cpu_ticks() { # pid -> utime + stime in clock ticks
  stat_ticks "/proc/$1/stat"
}
machine_ticks() { # -> "busy total" clock ticks of all cores, from /proc/stat
  awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat
}
# Where the machine's cores went during a measured run: the server, the worker stand-in, and the rest
# (wrk, kernel work not charged to a process).
cores_line() { # label server-ticks ("" when there is no server) sim-ticks "busy total" "busy total" sim-name
  awk -v l="$1" -v s="$2" -v w="$3" -v b1="${4% *}" -v t1="${4#* }" -v b2="${5% *}" -v t2="${5#* }" -v n="$(nproc)" -v wn="$6" \
    'BEGIN {c = n / (t2 - t1); printf "| %s: cores during the measured run | %s%s %.2f, everything else (wrk, kernel) %.2f, idle %.2f of %d |\n", l, s == "" ? "" : sprintf("server %.2f, ", s * c), wn, w * c, (b2 - b1 - s - w) * c, (t2 - t1 - b2 + b1) * c, n}'
}
cpu_us_per_job() { # ticks jobs
  awk -v t="$1" -v j="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {if (j > 0) printf "%.0f", t * 1e6 / hz / j; else print "n/a"}'
}

writer_ticks() { # pid -> utime + stime of the SQLite store's writer thread ("Baton SQLite wr" in comm), 0 when absent
  local t
  for t in /proc/"$1"/task/*; do
    if [ "$(cat "$t/comm" 2>/dev/null)" = "Baton SQLite wr" ]; then stat_ticks "$t/stat"; return; fi
  done
  echo 0
}
file_bytes() { # pid -> bytes the process passed to write calls on files (wchar in /proc/<pid>/io; socket sends are not counted)
  awk '/^wchar:/ {print $2}' /proc/"$1"/io 2>/dev/null || echo n/a
}
ctx_switches() { # pid -> voluntary + involuntary context switches of all its threads
  cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches:/ {s += $2} END {print s + 0}'
}
runtime_counts() { # -> "allocated-bytes work-items" from the server's /metrics ("n/a n/a" without the runtime's series)
  curl -sf -H "X-ADMIN-KEY: $KEY" "http://127.0.0.1:$MAIN_PORT/metrics" | awk '
    /^dotnet_gc_heap_total_allocated_bytes_total/ {a += $NF; fa = 1}
    /^dotnet_thread_pool_work_item_count_total/ {w += $NF; fw = 1}
    END {printf "%s %s\n", fa ? sprintf("%.0f", a) : "n/a", fw ? sprintf("%.0f", w) : "n/a"}' || echo "n/a n/a"
}
per_job() { # before after jobs -> (after - before) / jobs, one decimal
  awk -v a="$1" -v b="$2" -v j="$3" 'BEGIN {if (a == "n/a" || b == "n/a" || j == 0) print "n/a"; else printf "%.1f", (b - a) / j}'
}

run_flow() { # db -> runs created pending (claimed later instead of started at once) and stalls in which no run ended
  local pending gaps
  pending=$(sqlite3 "file:$1?mode=ro" "select count(*), sum(started_at > created_at) from runs where workflow='review-forward' and status = 10" |
    awk -F'|' '{printf "%d of %d (%.1f %%)", $2, $1, $1 ? 100 * $2 / $1 : 0}')
  gaps=$(sqlite3 "file:$1?mode=ro" "select completed_at from runs where workflow='review-forward' and status = 10 order by completed_at" |
    awk 'NR > 1 && $1 - p >= 100 {n++; if ($1 - p > m) m = $1 - p} {p = $1} END {printf "%d (longest %d ms)", n, m}')
  echo "runs created pending and claimed later: $pending; gaps of 100 ms or more with no run ending: $gaps"
}
result_field() { # line field
  printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# Waits until the store holds no unfinished run, then checks the store against the worker stand-in.
verify() { # db accepted label
  local db="$1" accepted="$2" label="$3" deadline=$((SECONDS + DRAIN_TIMEOUT)) left started=$SECONDS
  while :; do
    left=$(sqlite3 "file:$db?mode=ro" "select count(*) from runs where workflow='review-forward' and status < 10")
    [ "$left" -eq 0 ] && break
    [ $SECONDS -lt $deadline ] || { log "$label: $left jobs still unforwarded after ${DRAIN_TIMEOUT} s"; return 1; }
    sleep 1
  done
  local drain=$((SECONDS - started))
  sqlite3 "file:$db?mode=ro" "select concurrency_key from runs where workflow='review-forward'" | sort >"$work/stored.txt"
  local failed stored received unique dups missing unknown
  failed=$(sqlite3 "file:$db?mode=ro" "select count(*) from runs where workflow='review-forward' and status <> 10")
  curl -sf "http://127.0.0.1:$WORKER_PORT/control/jobs" | sort >"$work/received.txt"
  stored=$(wc -l <"$work/stored.txt")
  unique=$(wc -l <"$work/received.txt")
  received=$(awk '{s += $2} END {print s + 0}' "$work/received.txt")
  dups=$(awk '$2 > 1 {n++} END {print n + 0}' "$work/received.txt")
  missing=$(cut -d' ' -f1 "$work/received.txt" | comm -23 "$work/stored.txt" - | wc -l)
  unknown=$(cut -d' ' -f1 "$work/received.txt" | comm -13 "$work/stored.txt" - | wc -l)
  echo "| $label | accepted (202) $accepted | stored $stored | forwarded unique $unique | deliveries $received | jobs delivered more than once $dups | missing $missing | unknown $unknown | not succeeded $failed | drained ${drain} s after the load |"
  [ "$stored" -ge "$accepted" ] && [ "$missing" -eq 0 ] && [ "$unknown" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$stored" -eq "$unique" ]
}

echo "## Review gateway benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -sr), wrk -t$THREADS -c$CONNECTIONS -d$DURATION after $WARMUP warm-up, logs ${LOGS:-warning}, DOTNET_gcServer ${SERVER_GC:-unset}"
echo
echo "| phase | requests/s (2xx) | p50 ms | p99 ms | non-2xx / socket errors |"
echo "|---|---|---|---|---|"

wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/gateway/noop.lua "http://127.0.0.1:$WORKER_PORT/noop" >/dev/null
sim1=$(cpu_ticks "$sim_pid"); m1=$(machine_ticks)
minimal=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/gateway/noop.lua "http://127.0.0.1:$WORKER_PORT/noop" | grep '^RESULT')
sim2=$(cpu_ticks "$sim_pid"); m2=$(machine_ticks)
if [ "${SERVER_CPU:-}" = 1 ]; then
  cores_line "minimal Kestrel endpoint" "" $((sim2 - sim1)) "$m1" "$m2" "the endpoint (worker stand-in)" >>"$work/cpu.md"
  echo "| minimal Kestrel endpoint: CPU per request | $(cpu_us_per_job $((sim2 - sim1)) "$(result_field "$minimal" requests)") µs in the endpoint's process |" >>"$work/cpu.md"
fi
echo "| minimal Kestrel endpoint (POST /noop, stores nothing) | $(result_field "$minimal" requests_per_s) | $(result_field "$minimal" p50_ms) | $(result_field "$minimal" p99_ms) | $(result_field "$minimal" errors_status) |"

status=0
run_phase() { # label mode
  local label="$1" mode="$2" db="$work/$2.db" line accepted rate warm cpu0 cpu1 cpu2 sim1 sim2 m1 m2
  curl -sf -X POST "http://127.0.0.1:$WORKER_PORT/control/reset" >/dev/null
  if [ "$mode" = burst ]; then start_server "$db" Baton__Engine__RunWorker=false; else start_server "$db"; fi
  cpu0=$(cpu_ticks "$server_pid")
  warm=$(BENCH_RUN="${mode}w$$" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s bench/gateway/enqueue.lua "http://127.0.0.1:$GATEWAY_PORT/enqueue" | grep '^RESULT')
  local rt1="" rt2="" cs1="" cs2=""
  local wt1="" wt2="" fb1="" fb2="" sc_pid=""
  if [ "${SERVER_CPU:-}" = 1 ] && [ "$mode" = live ]; then rt1=$(runtime_counts); cs1=$(ctx_switches "$server_pid"); wt1=$(writer_ticks "$server_pid"); fb1=$(file_bytes "$server_pid"); fi
  if [ "${SYSCALLS:-}" = 1 ] && [ "$mode" = live ]; then
    perf stat -x, -e syscalls:sys_enter_pwrite64,syscalls:sys_enter_pread64,syscalls:sys_enter_fcntl,syscalls:sys_enter_sendto,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait -p "$server_pid" -o "$work/syscalls.csv" &
    sc_pid=$!
  fi
  cpu1=$(cpu_ticks "$server_pid"); sim1=$(cpu_ticks "$sim_pid"); m1=$(machine_ticks)
  local probes=()
  if [ "${PROBE:-}" = 1 ] && [ "$mode" = live ]; then
    local probe_s
    probe_s=$(awk -v d="$DURATION" 'BEGIN {print (d ~ /m$/) ? (d + 0) * 60 : d + 0}')
    python3 bench/gateway/health-probe.py "$GATEWAY_PORT" "$probe_s" "the gateway's /health" >"$work/probe-gateway.txt" &
    probes+=($!)
    python3 bench/gateway/health-probe.py "$WORKER_PORT" "$probe_s" "the stand-in's /health" >"$work/probe-worker.txt" &
    probes+=($!)
  fi
  if [ -n "${PERF_RECORD:-}" ] && [ "$mode" = "${PERF_PHASE:-live}" ]; then
    perf record -g -p "$server_pid" -o "$PERF_RECORD" -- sleep 10 >/dev/null 2>&1 &
  fi
  line=$(BENCH_RUN="${mode}$$" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/gateway/enqueue.lua "http://127.0.0.1:$GATEWAY_PORT/enqueue" | grep '^RESULT')
  cpu2=$(cpu_ticks "$server_pid"); sim2=$(cpu_ticks "$sim_pid"); m2=$(machine_ticks)
  if [ -n "$rt1" ]; then cs2=$(ctx_switches "$server_pid"); rt2=$(runtime_counts); wt2=$(writer_ticks "$server_pid"); fb2=$(file_bytes "$server_pid"); fi
  if [ -n "$sc_pid" ]; then kill -INT "$sc_pid"; wait "$sc_pid" 2>/dev/null || true; fi
  if [ ${#probes[@]} -gt 0 ]; then
    wait "${probes[@]}" || true
    echo "| $label: pauses during the measured run | $(cat "$work/probe-gateway.txt"); $(cat "$work/probe-worker.txt") |" >>"$work/cpu.md"
  fi
  accepted=$(result_field "$line" accepted)
  rate=$(result_field "$line" accepted_per_s)
  echo "| $label | $rate ($(awk -v a="$rate" -v b="$(result_field "$minimal" requests_per_s)" 'BEGIN {printf "%.0f", 100 * a / b}') % of minimal) | $(result_field "$line" p50_ms) | $(result_field "$line" p99_ms) | $(( $(result_field "$line" requests) - accepted )) / $(( $(result_field "$line" errors_connect) + $(result_field "$line" errors_read) + $(result_field "$line" errors_write) + $(result_field "$line" errors_timeout) )) |"
  if [ "${SERVER_CPU:-}" = 1 ]; then cores_line "$label" $((cpu2 - cpu1)) $((sim2 - sim1)) "$m1" "$m2" "worker stand-in" >>"$work/cpu.md"; fi
  local drain0=""
  if [ "$mode" = burst ]; then
    stop_server
    start_server "$db"
    drain0=$(cpu_ticks "$server_pid")
  fi
  verify "$db" "$((accepted + $(result_field "$warm" accepted)))" "$label" >>"$work/verify.md" || status=1
  if [ "${SERVER_CPU:-}" = 1 ] && [ "$mode" = burst ]; then
    # Accept alone (no forwarding) on the first server, forwarding alone (the backlog) on the second.
    local total=$((accepted + $(result_field "$warm" accepted)))
    echo "| $label: server CPU | measured run (accept only): $(cpu_us_per_job $((cpu2 - cpu1)) "$accepted") µs per accepted job | restart to drained (forward only, start-up included): $(cpu_us_per_job $(( $(cpu_ticks "$server_pid") - drain0 )) "$total") µs per job ($total jobs) |" >>"$work/cpu.md"
  fi
  if [ "${SERVER_CPU:-}" = 1 ] && [ "$mode" = live ]; then
    local cpu3 total=$((accepted + $(result_field "$warm" accepted)))
    cpu3=$(cpu_ticks "$server_pid")
    echo "| $label: per accepted job, measured run | $(per_job "${rt1% *}" "${rt2% *}" "$accepted") bytes allocated, $(per_job "${rt1#* }" "${rt2#* }" "$accepted") thread-pool work items, $(per_job "$cs1" "$cs2" "$accepted") context switches, $(per_job "$fb1" "$fb2" "$accepted") bytes written to files |" >>"$work/cpu.md"
    echo "| $label: the whole phase | $(run_flow "$db") |" >>"$work/cpu.md"
    if [ -n "$sc_pid" ]; then
      echo "| $label: system calls per accepted job, measured run | $(awk -F, -v j="$accepted" '$3 ~ /sys_enter_/ {sub(/.*sys_enter_/, "", $3); printf "%s%s %.1f", sep, $3, $1 / j; sep = ", "}' "$work/syscalls.csv") |" >>"$work/cpu.md"
    fi
    echo "| $label: server CPU | measured run: $(cpu_us_per_job $((cpu2 - cpu1)) "$accepted") µs per accepted job (the SQLite writer's thread $(cpu_us_per_job $((wt2 - wt1)) "$accepted") µs), $(awk -v t=$((cpu2 - cpu1)) -v hz="$(getconf CLK_TCK)" -v d="$(result_field "$line" seconds)" 'BEGIN {printf "%.2f", t / hz / d}') cores busy | warm-up to drained: $(cpu_us_per_job $((cpu3 - cpu0)) "$total") µs per job ($total jobs) |" >>"$work/cpu.md"
  fi
  stop_server || status=1
}
case " ${PHASES:-live burst} " in *" live "*) run_phase "POST /enqueue, forwarding live" live ;; esac
case " ${PHASES:-live burst} " in *" burst "*) run_phase "POST /enqueue, forwarding paused (drained after a restart)" burst ;; esac

if [ -s "$work/cpu.md" ]; then echo; cat "$work/cpu.md"; fi
echo
echo "Delivery check (store vs. worker stand-in, duplicates dropped by Idempotency-Key):"
echo
cat "$work/verify.md"
[ "$status" -eq 0 ] && echo && echo "every accepted job reached the worker exactly once after dedup; none missing" || echo "DELIVERY CHECK FAILED"
exit "$status"
