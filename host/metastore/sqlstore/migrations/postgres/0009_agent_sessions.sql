-- Agents' sessions: one per task run, with the context handed to the next
-- agent and the record of the hand-off protocol's steps.
CREATE TABLE agent_sessions (
    session_id       TEXT PRIMARY KEY,
    agent_id         TEXT NOT NULL,
    agent_type       TEXT NOT NULL,
    task             TEXT NOT NULL,
    params           JSONB,
    status           TEXT NOT NULL,
    previous_session TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    context          JSONB,
    handoff          JSONB,
    error_text       TEXT NOT NULL
);
CREATE INDEX agent_sessions_agent_idx ON agent_sessions (agent_id, started_at);
CREATE INDEX agent_sessions_type_idx ON agent_sessions (agent_type, started_at);
