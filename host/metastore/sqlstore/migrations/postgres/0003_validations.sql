-- Validation results of datasets against expectation suites (GX 1.x
-- result JSON), newest looked up by dataset.
CREATE TABLE validations (
    id          TEXT PRIMARY KEY,
    dataset     TEXT NOT NULL,
    suite       TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL,
    row_count   BIGINT NOT NULL,
    success     BOOLEAN NOT NULL,
    score       DOUBLE PRECISION NOT NULL,
    result      JSONB NOT NULL
);
CREATE INDEX validations_dataset ON validations (dataset, started_at);
