#!/usr/bin/env bash
# The machine's limit for a naive one-row-per-job queue on PostgreSQL, the baseline the Postgres store's
# throughput is compared with (issue 4): each client inserts a job, claims one with FOR UPDATE SKIP LOCKED
# and marks it done, every statement its own commit. Prints jobs/s for 8, 16 and 32 clients and the best.
# Usage: bench/pgbench-naive-queue.sh [seconds per client count, default 15]
# Needs a running server; connection from PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE
# (defaults: 127.0.0.1, 5432, postgres, postgres, baton_test).
set -euo pipefail
seconds="${1:-15}"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}" \
  PGPASSWORD="${PGPASSWORD:-postgres}" PGDATABASE="${PGDATABASE:-baton_test}" PGOPTIONS="-c client_min_messages=warning"
work="$(mktemp -d)"
trap 'rm -rf "$work"; psql -qX -c "DROP SCHEMA IF EXISTS naive_queue CASCADE" >/dev/null 2>&1 || true' EXIT

psql -qX -v ON_ERROR_STOP=1 <<'SQL'
DROP SCHEMA IF EXISTS naive_queue CASCADE;
CREATE SCHEMA naive_queue;
CREATE TABLE naive_queue.jobs (
  id bigserial PRIMARY KEY,
  payload text NOT NULL,
  status smallint NOT NULL DEFAULT 0,
  claimed_by integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  done_at timestamptz
);
CREATE INDEX ON naive_queue.jobs (id) WHERE status = 0;
CREATE INDEX ON naive_queue.jobs (claimed_by) WHERE status = 1;
SQL

# Three statements, three commits per job (pgbench runs each statement in autocommit).
cat >"$work/job.sql" <<'SQL'
INSERT INTO naive_queue.jobs (payload) VALUES ('{"n":' || :client_id || '}');
UPDATE naive_queue.jobs SET status = 1, claimed_by = :client_id
  WHERE id = (SELECT id FROM naive_queue.jobs WHERE status = 0 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED);
UPDATE naive_queue.jobs SET status = 2, done_at = now()
  WHERE id = (SELECT id FROM naive_queue.jobs WHERE status = 1 AND claimed_by = :client_id LIMIT 1);
SQL

echo "# naive queue on PostgreSQL $(psql -qXtAc 'SHOW server_version'), synchronous_commit=$(psql -qXtAc 'SHOW synchronous_commit'), $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M') UTC"
best=0
for clients in 8 16 32; do
  psql -qX -c "TRUNCATE naive_queue.jobs" >/dev/null
  tps="$(pgbench -n -f "$work/job.sql" -c "$clients" -j 2 -T "$seconds" 2>/dev/null \
    | awk '/^tps = / { print int($3) }')"
  echo "| $clients clients | $tps jobs/s |"
  [ "${tps:-0}" -gt "$best" ] && best="$tps"
done
echo "best: $best jobs/s"
