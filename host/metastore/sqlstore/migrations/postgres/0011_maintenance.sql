-- Lake-wide maintenance the daemons share (the scrub): when each task's
-- current interval began, so that its schedule survives daemon restarts
-- and several daemons run it once per interval between them.
CREATE TABLE maintenance (
    task    TEXT PRIMARY KEY,
    last_at TIMESTAMPTZ NOT NULL
);
