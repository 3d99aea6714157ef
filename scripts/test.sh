#!/usr/bin/env bash
# Runs every Baton test on this machine: installs what the tests need (apt), starts the servers
# they use on 127.0.0.1 only, runs `dotnet test` for the whole solution, stops the servers and
# prints the totals as its last line: "N passed, N failed, N skipped". Exit code 0 only when
# everything passed.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
results="$root/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

log() { printf '[test.sh] %s\n' "$*" >&2; }

# Servers the tests use. Each entry has start_<name> and stop_<name> functions below.
servers=(postgres redis rabbitmq)

started=()
stop_servers() {
  local s
  for s in "${started[@]}"; do
    log "stopping $s"
    "stop_$s" || log "could not stop $s cleanly"
  done
}
trap stop_servers EXIT

apt_updated=0
need_packages() {
  local missing=()
  local p
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# PostgreSQL for tests/Baton.Storage.Postgres.Tests. A BATON_POSTGRES set by the caller is used as it is;
# otherwise the local cluster is started on 127.0.0.1 only (and stopped at the end only if started here).
postgres_started_here=0
postgres_cluster=""
start_postgres() {
  if [ -n "${BATON_POSTGRES:-}" ]; then
    log "postgres: using BATON_POSTGRES from the environment"
    return 0
  fi
  need_packages postgresql || return 1
  local version
  version="$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)"
  [ -n "$version" ] || { log "postgres: no server binaries under /usr/lib/postgresql"; return 1; }
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >/dev/null || return 1
  fi
  postgres_cluster="$version main"
  if pg_isready -h 127.0.0.1 -p 5432 -q; then
    log "postgres: already running on 127.0.0.1:5432; leaving it running afterwards"
  else
    log "starting postgres $version on 127.0.0.1:5432"
    pg_ctlcluster "$version" main start -- -o "-c listen_addresses=127.0.0.1" || return 1
    postgres_started_here=1
    local deadline=$((SECONDS + 30))
    until pg_isready -h 127.0.0.1 -p 5432 -q; do
      [ "$SECONDS" -lt "$deadline" ] || { log "postgres: not ready after 30 s"; return 1; }
      sleep 0.2
    done
  fi
  # TCP logins need a password; set the documented test one only if it does not work yet.
  if ! PGPASSWORD=postgres psql -h 127.0.0.1 -U postgres -d postgres -tAqc 'SELECT 1' >/dev/null 2>&1; then
    su postgres -c "psql -qc \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null || return 1
  fi
  export BATON_POSTGRES="Host=127.0.0.1;Port=5432;Username=postgres;Password=postgres;Database=baton_test"
}
stop_postgres() {
  if [ "$postgres_started_here" -ne 1 ]; then
    log "postgres: not started here; left running"
    return 0
  fi
  # shellcheck disable=SC2086
  pg_ctlcluster $postgres_cluster stop
}

# Redis for the brand-insights app and src/Baton.Redis (tests read BATON_REDIS). No persistence: a test that
# restarts it starts from an empty server. A BATON_REDIS set by the caller is used as it is.
redis_started_here=0
redis_dir="$root/.artifacts/redis"
start_redis() {
  if [ -n "${BATON_REDIS:-}" ]; then
    log "redis: using BATON_REDIS from the environment"
    return 0
  fi
  need_packages redis-server redis-tools || return 1
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    log "redis: already running on 127.0.0.1:6379; leaving it running afterwards"
  else
    mkdir -p "$redis_dir"
    log "starting redis on 127.0.0.1:6379"
    redis-server --daemonize yes --port 6379 --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$redis_dir" --pidfile "$redis_dir/redis.pid" --logfile "$redis_dir/redis.log" || return 1
    redis_started_here=1
    local deadline=$((SECONDS + 10))
    until redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; do
      [ "$SECONDS" -lt "$deadline" ] || { log "redis: not ready after 10 s"; return 1; }
      sleep 0.1
    done
  fi
  export BATON_REDIS="127.0.0.1:6379"
}
stop_redis() {
  if [ "$redis_started_here" -ne 1 ]; then
    log "redis: not started here; left running"
    return 0
  fi
  # A test may have restarted it on the same port; shut down whatever answers there.
  redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
}

# RabbitMQ for the doctor-onboarding app and src/Baton.RabbitMq (tests read BATON_RABBITMQ). The Erlang
# distribution port and epmd bind to loopback too; without these settings RabbitMQ listens on every interface.
rabbitmq_started_here=0
start_rabbitmq() {
  if [ -n "${BATON_RABBITMQ:-}" ]; then
    log "rabbitmq: using BATON_RABBITMQ from the environment"
    return 0
  fi
  need_packages rabbitmq-server || return 1
  export ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  if rabbitmqctl -q status >/dev/null 2>&1; then
    log "rabbitmq: already running; leaving it running afterwards"
  else
    log "starting rabbitmq on 127.0.0.1:5672"
    rabbitmq-server -detached >/dev/null 2>&1 || return 1
    rabbitmq_started_here=1
    # await_startup fails at once while the node is still booting, so ask again until it answers.
    local deadline=$((SECONDS + 60))
    until rabbitmqctl -q await_startup >/dev/null 2>&1; do
      [ "$SECONDS" -lt "$deadline" ] || { log "rabbitmq: not ready after 60 s"; return 1; }
      sleep 0.5
    done
  fi
  export BATON_RABBITMQ="amqp://guest:guest@127.0.0.1:5672/"
}
stop_rabbitmq() {
  if [ "$rabbitmq_started_here" -ne 1 ]; then
    log "rabbitmq: not started here; left running"
    return 0
  fi
  rabbitmqctl -q stop >/dev/null 2>&1 || true
  epmd -kill >/dev/null 2>&1 || true
}

if ! command -v dotnet >/dev/null 2>&1; then
  log "the .NET 10 SDK is required (dotnet not found on PATH)"
  echo "0 passed, 1 failed"
  exit 1
fi

for s in "${servers[@]}"; do
  "start_$s" && started+=("$s") || { log "could not start $s"; echo "0 passed, 1 failed"; exit 1; }
done

# Chromium for tests/Baton.Dashboard.Tests (Playwright drives Debian's browser; nothing is downloaded).
need_packages chromium || { log "could not install chromium"; echo "0 passed, 1 failed"; exit 1; }

log "building"
if ! dotnet build Baton.slnx -c Release -nologo -v q >"$results/build.log" 2>&1; then
  tail -40 "$results/build.log" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# The packages, into a local folder feed: samples/EmbeddedHost restores Baton from there (as a user gets it), and
# tests/Baton.Server.Tests' EmbeddedHostTests build and run it. A warning fails the step like a build error.
feed="$root/artifacts/packages"
log "packing into $feed"
rm -rf "$feed"
if ! dotnet pack Baton.slnx -c Release --no-build -nologo -v q -o "$feed" >"$results/pack.log" 2>&1 \
  || grep -qE ': (warning|error) ' "$results/pack.log"; then
  tail -40 "$results/pack.log" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
export BATON_PACKAGE_FEED="$feed"

log "running dotnet test"
# Each test assembly prints one summary line ("Passed!  - Failed: 0, Passed: 5, Skipped: 0, ...");
# the totals are the sums of those lines.
dotnet test Baton.slnx -c Release --no-build -nologo \
  --blame-hang-timeout 5m 2>&1 | tee "$results/test.log"
test_exit=${PIPESTATUS[0]}

passed=0; failed=0; skipped=0; files=0
while IFS= read -r line; do
  files=$((files + 1))
  n() { printf '%s' "$line" | grep -o "$1: *[0-9]*" | grep -o '[0-9]*$'; }
  passed=$((passed + $(n Passed))); failed=$((failed + $(n Failed))); skipped=$((skipped + $(n Skipped)))
done < <(grep -E '^(Passed|Failed)! +- Failed: ' "$results/test.log")

if [ "$files" -eq 0 ]; then
  log "no test summary was printed"
  failed=$((failed + 1))
elif [ "$test_exit" -ne 0 ] && [ "$failed" -eq 0 ]; then
  log "dotnet test exited with $test_exit although no test failed (a test host crashed?)"
  failed=1
fi

# Stop the servers now (not in the EXIT trap) so the totals stay the last line printed.
stop_servers
started=()
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$test_exit" -eq 0 ]
