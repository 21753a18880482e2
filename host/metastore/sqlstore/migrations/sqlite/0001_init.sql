-- The lake's catalogue on SQLite. Times are UTC text in the fixed-width form
-- 2006-01-02T15:04:05.000000Z, so they sort as they compare; JSON is text.
-- Tables are STRICT except agent_registry, which keeps the design's declared
-- types.

CREATE TABLE plugins (
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    version          TEXT NOT NULL,
    protocol_version INTEGER NOT NULL,
    sha256           TEXT NOT NULL,
    path             TEXT NOT NULL,
    installed_at     TEXT NOT NULL,
    PRIMARY KEY (kind, name)
) STRICT;

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    error_text  TEXT NOT NULL DEFAULT '',
    stats       TEXT,
    owner       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX runs_started_idx ON runs (started_at DESC, id DESC);
CREATE INDEX runs_source_started_idx ON runs (source, started_at DESC, id DESC);
CREATE INDEX runs_status_idx ON runs (status);

CREATE TABLE run_steps (
    run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    detail      TEXT,
    PRIMARY KEY (run_id, name)
) STRICT;

CREATE TABLE datasets (
    name       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE batches (
    dataset      TEXT NOT NULL REFERENCES datasets (name),
    batch_id     TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    row_count    INTEGER NOT NULL,
    committed_at TEXT NOT NULL,
    PRIMARY KEY (dataset, batch_id)
) STRICT;

-- A file belongs to at most one manifest: the key is the primary key.
CREATE TABLE manifest_files (
    object_key TEXT PRIMARY KEY,
    dataset    TEXT NOT NULL REFERENCES datasets (name),
    size       INTEGER NOT NULL,
    sha256     TEXT NOT NULL,
    row_count  INTEGER NOT NULL,
    batch_id   TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    meta       TEXT,
    added_at   TEXT NOT NULL
) STRICT;
CREATE INDEX manifest_files_dataset_key_idx ON manifest_files (dataset, object_key);
CREATE INDEX manifest_files_batch_idx ON manifest_files (dataset, batch_id);

CREATE TABLE stream_state (
    source     TEXT NOT NULL,
    stream     TEXT NOT NULL,
    state      BLOB NOT NULL,
    run_id     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, stream)
) STRICT;

CREATE TABLE pending_files (
    object_key TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
CREATE INDEX pending_files_run_idx ON pending_files (run_id);

-- The agent registry, with the design's column types as declared text.
CREATE TABLE agent_registry (
    agent_id VARCHAR(255) PRIMARY KEY,
    agent_type VARCHAR(100),
    last_active TIMESTAMPTZ,
    current_status VARCHAR(50),
    resource_usage JSONB,
    performance_metrics JSONB,
    knowledge_contributions INTEGER DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP
);
