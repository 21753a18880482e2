-- Alerts and their lifecycle (firing -> acknowledged -> resolved). At most
-- one open (unresolved) alert per de-duplication key: the partial unique
-- index makes raising the same condition from several daemons at once
-- update one row instead of opening several.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY,
    dedup_key    TEXT NOT NULL,
    kind         TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low')),
    state        TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    title        TEXT NOT NULL,
    detail       TEXT NOT NULL DEFAULT '',
    source       TEXT NOT NULL DEFAULT '',
    dataset      TEXT NOT NULL DEFAULT '',
    run_id       TEXT NOT NULL DEFAULT '',
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    condition_at TEXT,
    seen_count   INTEGER NOT NULL,
    acked_at     TEXT,
    acked_by     TEXT NOT NULL DEFAULT '',
    resolved_at  TEXT,
    resolved_by  TEXT NOT NULL DEFAULT '',
    notified_at  TEXT,
    notify_error TEXT NOT NULL DEFAULT '',
    remediation  TEXT NOT NULL DEFAULT '',
    details      TEXT
) STRICT;
CREATE UNIQUE INDEX alerts_open_key_idx ON alerts (dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_last_seen_idx ON alerts (last_seen DESC, id DESC);
CREATE INDEX alerts_state_idx ON alerts (state, severity);
