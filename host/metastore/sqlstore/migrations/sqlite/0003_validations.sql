-- Validation results of datasets against expectation suites (GX 1.x
-- result JSON), newest looked up by dataset.
CREATE TABLE validations (
    id          TEXT PRIMARY KEY,
    dataset     TEXT NOT NULL,
    suite       TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    row_count   INTEGER NOT NULL,
    success     INTEGER NOT NULL,
    score       REAL NOT NULL,
    result      TEXT NOT NULL
) STRICT;
CREATE INDEX validations_dataset ON validations (dataset, started_at);
