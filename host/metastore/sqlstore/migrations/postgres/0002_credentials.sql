-- Configuration values sources replaced while running (rotated OAuth
-- refresh tokens), sealed with the host's secrets key: never plaintext.
CREATE TABLE credentials (
    source     TEXT NOT NULL,
    key        TEXT NOT NULL,
    sealed     BYTEA NOT NULL,
    base       TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, key)
);
