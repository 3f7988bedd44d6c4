-- db/data.sql - generated data for db/schema.sql, in SQL with
-- generate_series, then the indexes (built after the rows, as a bulk load
-- does) and fresh statistics. psql variable scale (default 1) scales the
-- row counts: at 1, 1,000 agents, 10,000 DAGs, 400,000 tasks and 600,000
-- executions, about a million rows. Values are derived from the row
-- number (hashes, not random()), so every load is the same.
\if :{?scale}
\else
\set scale 1
\endif
SELECT greatest(10, (1000 * :scale)::int) AS agents,
       greatest(20, (10000 * :scale)::int) AS dags,
       greatest(100, (400000 * :scale)::int) AS tasks,
       greatest(100, (600000 * :scale)::int) AS executions \gset

INSERT INTO search_terms (id, term)
SELECT row_number() OVER (), w FROM unnest(ARRAY[
    'deploy', 'build', 'release', 'rollback', 'migrate', 'backup', 'restore',
    'index', 'cache', 'queue', 'worker', 'scheduler', 'pipeline', 'artifact',
    'container', 'image', 'cluster', 'node', 'volume', 'network', 'gateway',
    'proxy', 'certificate', 'secret', 'token', 'session', 'user', 'account',
    'billing', 'invoice', 'payment', 'report', 'metric', 'alert', 'dashboard',
    'log', 'trace', 'span', 'latency', 'throughput', 'error', 'retry',
    'timeout', 'deadline', 'budget', 'quota', 'limit', 'shard', 'replica',
    'leader', 'follower', 'snapshot', 'checkpoint', 'compaction', 'vacuum',
    'analyze', 'schema', 'table', 'column', 'query', 'join', 'aggregate',
    'window', 'partition', 'stream', 'batch', 'export', 'import', 'sync',
    'webhook', 'notification', 'email', 'search', 'ranking', 'model',
    'training', 'inference', 'feature', 'dataset', 'label', 'evaluation',
    'experiment', 'canary', 'blue', 'green', 'traffic', 'region', 'zone',
    'failover', 'recovery', 'incident', 'postmortem', 'runbook', 'oncall',
    'escalation', 'approval', 'review', 'merge', 'branch', 'commit', 'tag',
    'version', 'upgrade', 'patch', 'hotfix', 'security', 'audit', 'compliance',
    'encryption', 'rotation', 'firewall', 'dns', 'load', 'balancer', 'health',
    'probe', 'readiness', 'liveness', 'memory', 'cpu', 'disk', 'bandwidth',
    'storage', 'bucket', 'object', 'archive', 'cleanup', 'purge', 'retention'
]) AS w;
SELECT count(*) AS nterms FROM search_terms \gset

INSERT INTO agents
SELECT i, 'agent-' || i,
       (ARRAY['online', 'online', 'online', 'busy', 'offline'])[1 + i % 5],
       1 + i % 16,
       timestamptz '2026-01-01' + (i % 365) * interval '1 day',
       timestamptz '2026-11-01' + (i % 3600) * interval '1 second'
FROM generate_series(1::bigint, :agents) AS i;

INSERT INTO dags
SELECT i, 'dag-' || i || '-' || t1.term, 1 + (i * 7919) % :agents,
       (ARRAY['@hourly', '@daily', '@weekly', NULL])[1 + i % 4],
       timestamptz '2026-01-01' + (i % 300) * interval '1 day'
FROM generate_series(1::bigint, :dags) AS i
JOIN search_terms t1 ON t1.id = 1 + (i * 31) % :nterms;

-- A title of three terms and a description of ten, picked by hashes of
-- the row number, so a term is in about 10 % of tasks and two in 1 %.
INSERT INTO tasks (id, dag_id, agent_id, title, description, status,
                   priority, created_at, updated_at)
SELECT i, 1 + (i * 104729) % :dags, 1 + (i * 7907) % :agents,
       initcap(w[1]) || ' ' || w[2] || ' ' || w[3] || ' #' || i,
       'Task ' || i || ' will ' || array_to_string(w[4:13], ' ') || '.',
       (ARRAY['pending', 'running', 'succeeded', 'succeeded', 'failed'])
           [1 + (i * 13) % 5],
       i % 10,
       timestamptz '2026-01-01' + (i % 31536000) * interval '1 second',
       timestamptz '2026-01-01' + (i % 31536000 + 600) * interval '1 second'
FROM (
    SELECT i, ARRAY(
        SELECT term FROM search_terms
        JOIN generate_series(1, 13) AS k
          ON id = 1 + abs(hashint8(i * 16 + k)) % :nterms
        ORDER BY k) AS w
    FROM generate_series(1::bigint, :tasks) AS i
) AS g;

INSERT INTO executions
SELECT i, t.dag_id, t.id, t.agent_id,
       (ARRAY['succeeded', 'succeeded', 'succeeded', 'failed', 'timed_out'])
           [1 + abs(hashint8(i)) % 5],
       t.created_at + (i % 86400) * interval '1 second',
       10 + abs(hashint8(i * 3)) % 60000
FROM generate_series(1::bigint, :executions) AS i
JOIN tasks t ON t.id = 1 + (i * 48271) % :tasks;

CREATE INDEX dags_owner_idx ON dags (owner_id);
CREATE INDEX tasks_dag_idx ON tasks (dag_id);
CREATE INDEX tasks_agent_created_idx ON tasks (agent_id, created_at DESC);
CREATE INDEX tasks_status_priority_idx ON tasks (status, priority DESC);
CREATE INDEX tasks_search_idx ON tasks USING gin (search);
CREATE INDEX executions_dag_started_idx ON executions (dag_id, started_at);
CREATE INDEX executions_agent_started_idx ON executions (agent_id, started_at);
CREATE INDEX executions_task_idx ON executions (task_id);
VACUUM ANALYZE;
