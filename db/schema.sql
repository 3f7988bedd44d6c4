-- db/schema.sql - the Project Apex database the SQL benchmarks query:
-- agents run the tasks of DAGs (workflows), and every run of a task is an
-- execution. The indexes are those a deployment serving the API would
-- have: primary keys, the foreign keys the API filters and joins on, the
-- orderings it pages by, and a full-text index (tsvector, GIN) on task
-- titles and descriptions. db/data.sql fills it; scripts/pg.sh loads both.
SET client_min_messages = warning;
DROP TABLE IF EXISTS executions, tasks, dags, agents, search_terms CASCADE;

CREATE TABLE agents (
    id          bigint PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    status      text NOT NULL CHECK (status IN ('online', 'busy', 'offline')),
    capacity    integer NOT NULL,
    created_at  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL
);

CREATE TABLE dags (
    id          bigint PRIMARY KEY,
    name        text NOT NULL,
    owner_id    bigint NOT NULL REFERENCES agents (id),
    schedule    text,
    created_at  timestamptz NOT NULL
);

CREATE TABLE tasks (
    id          bigint PRIMARY KEY,
    dag_id      bigint NOT NULL REFERENCES dags (id),
    agent_id    bigint REFERENCES agents (id),
    title       text NOT NULL,
    description text NOT NULL,
    status      text NOT NULL CHECK (status IN
                    ('pending', 'running', 'succeeded', 'failed')),
    priority    integer NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', title), 'A') ||
                    setweight(to_tsvector('english', description), 'B')
                ) STORED
);

CREATE TABLE executions (
    id          bigint PRIMARY KEY,
    dag_id      bigint NOT NULL REFERENCES dags (id),
    task_id     bigint NOT NULL REFERENCES tasks (id),
    agent_id    bigint NOT NULL REFERENCES agents (id),
    status      text NOT NULL CHECK (status IN
                    ('succeeded', 'failed', 'timed_out')),
    started_at  timestamptz NOT NULL,
    duration_ms integer NOT NULL
);

-- The words titles and descriptions are made of; a benchmark picks search
-- terms by id (1 .. count) so it never pastes text into SQL.
CREATE TABLE search_terms (
    id          integer PRIMARY KEY,
    term        text NOT NULL
);
