-- The lake's catalogue on PostgreSQL. Ordered text (keys, names) uses the
-- "C" collation so that listings sort by bytes, as they do on SQLite.

CREATE TABLE plugins (
    kind             TEXT COLLATE "C" NOT NULL,
    name             TEXT COLLATE "C" NOT NULL,
    version          TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    path             TEXT NOT NULL,
    installed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE runs (
    id          TEXT COLLATE "C" PRIMARY KEY,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    error_text  TEXT NOT NULL DEFAULT '',
    stats       JSONB,
    owner       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_started_idx ON runs (started_at DESC, id DESC);
CREATE INDEX runs_source_started_idx ON runs (source, started_at DESC, id DESC);
CREATE INDEX runs_status_idx ON runs (status);

CREATE TABLE run_steps (
    run_id      TEXT COLLATE "C" NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    detail      JSONB,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE datasets (
    name       TEXT COLLATE "C" PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE batches (
    dataset      TEXT COLLATE "C" NOT NULL REFERENCES datasets (name),
    batch_id     TEXT COLLATE "C" NOT NULL,
    run_id       TEXT NOT NULL,
    row_count    BIGINT NOT NULL,
    committed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dataset, batch_id)
);

-- A file belongs to at most one manifest: the key is the primary key.
CREATE TABLE manifest_files (
    object_key TEXT COLLATE "C" PRIMARY KEY,
    dataset    TEXT COLLATE "C" NOT NULL REFERENCES datasets (name),
    size       BIGINT NOT NULL,
    sha256     TEXT NOT NULL,
    row_count  BIGINT NOT NULL,
    batch_id   TEXT COLLATE "C" NOT NULL,
    run_id     TEXT NOT NULL,
    meta       JSONB,
    added_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX manifest_files_dataset_key_idx ON manifest_files (dataset, object_key);
CREATE INDEX manifest_files_batch_idx ON manifest_files (dataset, batch_id);

CREATE TABLE stream_state (
    source     TEXT NOT NULL,
    stream     TEXT NOT NULL,
    state      BYTEA NOT NULL,
    run_id     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, stream)
);

CREATE TABLE pending_files (
    object_key TEXT COLLATE "C" PRIMARY KEY,
    run_id     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX pending_files_run_idx ON pending_files (run_id);

-- The agent registry, exactly as the design specifies it.
CREATE TABLE agent_registry (
    agent_id VARCHAR(255) PRIMARY KEY,
    agent_type VARCHAR(100),
    last_active TIMESTAMPTZ,
    current_status VARCHAR(50),
    resource_usage JSONB,
    performance_metrics JSONB,
    knowledge_contributions INTEGER DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);
