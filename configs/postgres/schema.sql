-- The API-Hour "agents" benchmark schema: 50 agents, none logged in.
--
-- Safe to run any number of times against the same database (the harness does,
-- when BENCH_DATABASE_URL points at a server that was seeded before): tables are
-- created only when missing and agents inserted only where their id is missing,
-- so a second run changes nothing.
--
-- The benchmark query LEFT JOINs the two tables; agent_id being the primary key
-- of agent_login_status is what keeps it at one row per agent (50 rows).

CREATE TABLE IF NOT EXISTS agentfeatures (
    id          serial PRIMARY KEY,
    firstname   varchar(128) NOT NULL DEFAULT '',
    lastname    varchar(128) NOT NULL DEFAULT '',
    number      varchar(40)  NOT NULL,
    passwd      varchar(128) NOT NULL DEFAULT '',
    context     varchar(39)  NOT NULL,
    language    varchar(20)  NOT NULL DEFAULT '',
    autologoff  integer,
    description text         NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS agent_login_status (
    agent_id        integer      PRIMARY KEY,
    agent_number    varchar(40)  NOT NULL,
    extension       varchar(80)  NOT NULL,
    context         varchar(80)  NOT NULL,
    interface       varchar(128) NOT NULL,
    state_interface varchar(128) NOT NULL,
    login_at        timestamptz  NOT NULL DEFAULT now(),
    paused          boolean      NOT NULL DEFAULT false,
    paused_reason   varchar(80)
);

-- Explicit ids (1..50, numbers 1001..1050) make the data identical on every server.
INSERT INTO agentfeatures (id, firstname, lastname, number, passwd, context, language, description)
SELECT n, 'Agent', 'No. ' || n, (1000 + n)::text, '', 'default', 'en_US', ''
FROM generate_series(1, 50) AS n
ON CONFLICT (id) DO NOTHING;

-- Explicit ids do not advance the serial's sequence; keep it past them.
SELECT setval(pg_get_serial_sequence('agentfeatures', 'id'), (SELECT max(id) FROM agentfeatures));

-- Autovacuum is off on the embedded cluster (no background work during a
-- measurement), so give the planner its statistics here.
ANALYZE agentfeatures;
ANALYZE agent_login_status;
