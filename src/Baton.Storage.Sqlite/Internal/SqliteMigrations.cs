using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using static Baton.Storage.StoredValues;

namespace Baton.Storage.Sqlite.Internal;

/// <summary>
/// The schema as numbered migrations. Each is applied once, in order, in one immediate
/// transaction with its row in <c>schema_version</c>, so two processes opening the same file at
/// once cannot both apply it. Append new migrations; never edit a shipped one. Status predicates come from
/// <see cref="StoredValues"/>, which yields the text that shipped (<c>status &lt; 10</c>) and keeps the partial
/// indexes' predicates identical to the queries' (SQLite uses a partial index only for a query whose WHERE implies it).
/// </summary>
internal static class SqliteMigrations
{
    public static readonly IReadOnlyList<string> All =
    [
        // 1: runs, steps, attempts, schedules, schedule fires.
        $"""
        CREATE TABLE runs (
            id TEXT NOT NULL PRIMARY KEY,
            workflow TEXT NOT NULL,
            status INTEGER NOT NULL,
            input TEXT,
            output TEXT,
            phase TEXT,
            progress TEXT,
            errors TEXT,
            failure TEXT,
            idempotency_key TEXT,
            concurrency_key TEXT,
            concurrency_limit INTEGER NOT NULL DEFAULT 1,
            schedule_name TEXT,
            scheduled_fire_time INTEGER,
            correlation_id TEXT,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            completed_at INTEGER,
            updated_at INTEGER NOT NULL,
            run_after INTEGER NOT NULL,
            deadline_at INTEGER,
            lease_owner TEXT,
            lease_expires_at INTEGER,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            executions INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX ux_runs_idempotency ON runs (workflow, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        CREATE UNIQUE INDEX ux_runs_schedule_fire ON runs (schedule_name, scheduled_fire_time)
            WHERE schedule_name IS NOT NULL AND scheduled_fire_time IS NOT NULL;
        -- Claiming scans only active runs, however many finished runs the table holds.
        CREATE INDEX ix_runs_runnable ON runs (run_after, lease_owner, lease_expires_at) WHERE {ActiveStatus};
        CREATE INDEX ix_runs_concurrency ON runs (concurrency_key, created_at)
            WHERE concurrency_key IS NOT NULL AND {ActiveStatus};
        CREATE INDEX ix_runs_workflow ON runs (workflow, id);
        CREATE INDEX ix_runs_status ON runs (status, id);

        CREATE TABLE steps (
            run_id TEXT NOT NULL,
            key TEXT NOT NULL,
            kind INTEGER NOT NULL,
            status INTEGER NOT NULL,
            result TEXT,
            error TEXT,
            error_type TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            started_at INTEGER NOT NULL,
            completed_at INTEGER,
            PRIMARY KEY (run_id, key)
        );

        CREATE TABLE step_attempts (
            run_id TEXT NOT NULL,
            step_key TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            ended_at INTEGER,
            outcome INTEGER NOT NULL,
            error_type TEXT,
            error_message TEXT,
            PRIMARY KEY (run_id, step_key, attempt)
        ) WITHOUT ROWID;

        CREATE TABLE schedules (
            name TEXT NOT NULL PRIMARY KEY,
            workflow TEXT NOT NULL,
            cron TEXT NOT NULL,
            time_zone TEXT NOT NULL,
            input TEXT,
            enabled INTEGER NOT NULL,
            misfire INTEGER NOT NULL,
            next_fire_at INTEGER,
            last_fire_at INTEGER,
            last_run_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX ix_schedules_due ON schedules (next_fire_at) WHERE enabled = 1;

        CREATE TABLE schedule_fires (
            schedule_name TEXT NOT NULL,
            fire_time INTEGER NOT NULL,
            run_id TEXT,
            fired_at INTEGER NOT NULL,
            PRIMARY KEY (schedule_name, fire_time)
        ) WITHOUT ROWID;
        """,

        // 2: the node registry (one row per live node, refreshed by its heartbeat).
        """
        CREATE TABLE nodes (
            node_id TEXT NOT NULL PRIMARY KEY,
            host TEXT NOT NULL,
            process_id INTEGER NOT NULL,
            version TEXT NOT NULL,
            workflows TEXT NOT NULL,
            started_at INTEGER NOT NULL,
            heartbeat_at INTEGER NOT NULL
        );
        """,

        // 3: a claim reads only what it claims. Runs without a lease (in claim order, with the workflow for
        // the node's filter) and runs holding a lease (by expiry, for takeovers) get an index each; the one
        // index they shared made every claim step over all the runs in flight on every node first.
        $"""
        DROP INDEX ix_runs_runnable;
        CREATE INDEX ix_runs_free ON runs (run_after, workflow) WHERE {ActiveStatus} AND lease_owner IS NULL;
        CREATE INDEX ix_runs_leased ON runs (lease_expires_at) WHERE {ActiveStatus} AND lease_owner IS NOT NULL;
        """,

        // 4: external events sent to runs; the id orders them as they were stored.
        """
        CREATE TABLE run_events (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            name TEXT NOT NULL,
            payload TEXT,
            idempotency_key TEXT,
            stored_at INTEGER NOT NULL,
            consumed_at INTEGER,
            consumed_by TEXT
        );
        CREATE INDEX ix_run_events_run ON run_events (run_id, id);
        CREATE INDEX ix_run_events_waiting ON run_events (run_id, name, id) WHERE consumed_at IS NULL;
        CREATE UNIQUE INDEX ux_run_events_idempotency ON run_events (run_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        """,

        // 5: awaited child runs: a child names its parent, and a parent's children are found by it.
        """
        ALTER TABLE runs ADD COLUMN parent_run_id TEXT;
        CREATE INDEX ix_runs_parent ON runs (parent_run_id, id) WHERE parent_run_id IS NOT NULL;
        """,

        // 6: workflow versioning: the version of the code that started each run (runs stored before read as 1).
        """
        ALTER TABLE runs ADD COLUMN workflow_version INTEGER NOT NULL DEFAULT 1;
        """,

        // 7: counts by status for one workflow (the dashboard's runs page) read this index alone: with 1,000,000 runs
        // the count went from 195 ms (ix_runs_workflow, then each row for its status, then a sort) to 45 ms.
        """
        CREATE INDEX ix_runs_workflow_status ON runs (workflow, status);
        """,

        // 8: tracing: the W3C trace context of the span that started each run, so every execution continues its trace
        // (NULL for runs started with no current span, and for runs stored before).
        """
        ALTER TABLE runs ADD COLUMN trace_parent TEXT;
        ALTER TABLE runs ADD COLUMN trace_state TEXT;
        """,

        // 9: retention deletes a batch of runs in one write and their steps, attempts and events in writes of a few
        // thousand rows each, so no write holds the single writer for long (one write for 500 runs of 2,000 steps each held
        // it 13.4 s, and lease renewals waited behind it); the ids of runs whose rows are not all gone yet are kept here, so a
        // crash midway leaves them to the next prune.
        """
        CREATE TABLE pruned_runs (id TEXT NOT NULL PRIMARY KEY) WITHOUT ROWID;
        """,

        // 10: a failed attempt to be retried keeps when the next attempt is due, so a run resumed before then (an event
        // sent to it while suspended, a crash during a wait in memory) waits out a RetryAfterException's longer wait too
        // (NULL for attempts stored before: their due time is recomputed from the policy).
        """
        ALTER TABLE step_attempts ADD COLUMN retry_at INTEGER;
        """,

        // 11: the events a suspended run waits for (StoredValues.WakesOnText), so another event does not make it due only
        // to suspend again (NULL for suspensions stored before, and for every other status: any event wakes the run).
        """
        ALTER TABLE runs ADD COLUMN wakes_on TEXT;
        """,

        // 12: the versions each node executes (NodeWorkflowsJson), so /health shows which node runs which version of a
        // workflow in a mixed-version deploy (NULL for rows written before, and by a node of an earlier Baton).
        """
        ALTER TABLE nodes ADD COLUMN workflow_versions TEXT;
        """,
    ];

    /// <summary>Applies the migrations the file has not had yet. Returns the schema version afterwards.</summary>
    public static int Apply(SqliteConnection connection, string path, ILogger logger)
    {
        using var transaction = connection.BeginTransaction();
        using (var create = connection.CreateCommand())
        {
            create.Transaction = transaction;
            create.CommandText =
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)";
            create.ExecuteNonQuery();
        }

        int current;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
            current = Convert.ToInt32(read.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }

        if (current > All.Count)
        {
            throw new InvalidOperationException(
                $"The SQLite database '{path}' has schema version {current}, newer than this Baton ({All.Count}). Upgrade Baton.");
        }

        for (var version = current + 1; version <= All.Count; version++)
        {
            using var migrate = connection.CreateCommand();
            migrate.Transaction = transaction;
            migrate.CommandText = All[version - 1];
            migrate.ExecuteNonQuery();

            migrate.CommandText = "INSERT INTO schema_version (version, applied_at) VALUES ($version, $now)";
            migrate.Parameters.AddWithValue("$version", version);
            migrate.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            migrate.ExecuteNonQuery();
            Log.MigrationApplied(logger, version, path);
        }

        transaction.Commit();
        return All.Count;
    }
}
