-- Sources an operator (or a critical alert's auto-remediation) paused: the
-- daemon starts no run of a paused source until it is resumed.
CREATE TABLE source_pauses (
    source    TEXT PRIMARY KEY,
    paused_at TIMESTAMPTZ NOT NULL,
    paused_by TEXT NOT NULL,
    reason    TEXT NOT NULL
);
