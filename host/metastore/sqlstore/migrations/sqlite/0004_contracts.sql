-- Data contracts of datasets, every version kept: from the user's file,
-- evolved by new columns, or discovered from a source's declared schema.
CREATE TABLE contracts (
    dataset    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    reason     TEXT NOT NULL,
    file_hash  TEXT NOT NULL,
    spec       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (dataset, version)
) STRICT;
