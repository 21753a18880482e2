package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// UpsertAgent inserts or updates an agent of the registry.
func (s *store) UpsertAgent(ctx context.Context, a metastore.Agent) error {
	if a.ID == "" {
		return errors.New("failed to record an agent: no agent_id")
	}
	usage, err := jsonArg(a.ResourceUsage)
	if err != nil {
		return fmt.Errorf("failed to record agent %s: resource_usage: %w", a.ID, err)
	}
	perf, err := jsonArg(a.PerformanceMetrics)
	if err != nil {
		return fmt.Errorf("failed to record agent %s: performance_metrics: %w", a.ID, err)
	}
	var last any
	if a.LastActive != nil {
		last = s.timeArg(*a.LastActive)
	}
	t := s.timeArg(now())
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO agent_registry (agent_id, agent_type, last_active, current_status, resource_usage,
			performance_metrics, knowledge_contributions, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
		ON CONFLICT (agent_id) DO UPDATE SET agent_type = excluded.agent_type, last_active = excluded.last_active,
			current_status = excluded.current_status, resource_usage = excluded.resource_usage,
			performance_metrics = excluded.performance_metrics, knowledge_contributions = excluded.knowledge_contributions,
			updated_at = excluded.updated_at`,
		a.ID, a.Type, last, a.CurrentStatus, usage, perf, a.KnowledgeContributions, t)
	if err != nil {
		return fmt.Errorf("failed to record agent %s: %w", a.ID, err)
	}
	return nil
}

const agentColumns = `agent_id, agent_type, last_active, current_status, resource_usage, performance_metrics,
	knowledge_contributions, created_at, updated_at`

func scanAgent(sc interface{ Scan(...any) error }) (metastore.Agent, error) {
	var a metastore.Agent
	var typ, status sql.NullString
	var usage, perf []byte
	var contributions sql.NullInt64
	if err := sc.Scan(&a.ID, &typ, nullTimeDest{&a.LastActive}, &status, &usage, &perf, &contributions,
		timeDest{&a.CreatedAt}, timeDest{&a.UpdatedAt}); err != nil {
		return a, err
	}
	a.Type, a.CurrentStatus, a.KnowledgeContributions = typ.String, status.String, int(contributions.Int64)
	a.ResourceUsage, a.PerformanceMetrics = json.RawMessage(usage), json.RawMessage(perf)
	return a, nil
}

// GetAgent returns one agent.
func (s *store) GetAgent(ctx context.Context, id string) (metastore.Agent, error) {
	a, err := scanAgent(s.db.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agent_registry WHERE agent_id = $1`, id))
	if errNoRows(err) {
		return a, fmt.Errorf("agent %q: %w", id, metastore.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("failed to read agent %q: %w", id, err)
	}
	return a, nil
}

// ListAgents returns the registry by agent id.
func (s *store) ListAgents(ctx context.Context) ([]metastore.Agent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+agentColumns+` FROM agent_registry ORDER BY agent_id`)
	if err != nil {
		return nil, fmt.Errorf("failed to list agents: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateSession records a session's start.
func (s *store) CreateSession(ctx context.Context, ses metastore.AgentSession) error {
	if ses.ID == "" || ses.AgentID == "" {
		return errors.New("failed to record a session: session_id and agent_id are required")
	}
	if ses.StartedAt.IsZero() {
		ses.StartedAt = now()
	}
	if ses.Status == "" {
		ses.Status = metastore.SessionRunning
	}
	params, err := json.Marshal(ses.Params)
	if err != nil {
		return err
	}
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO agent_sessions (session_id, agent_id, agent_type, task, params, status,
			previous_session, started_at, error_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '')`,
		ses.ID, ses.AgentID, ses.AgentType, ses.Task, string(params), ses.Status, ses.Previous, s.timeArg(ses.StartedAt))
	if err != nil {
		return fmt.Errorf("failed to record session %s: %w", ses.ID, err)
	}
	return nil
}

// FinishSession records a session's end: status, context, hand-off, error.
func (s *store) FinishSession(ctx context.Context, ses metastore.AgentSession) error {
	finished := now()
	if ses.FinishedAt != nil {
		finished = *ses.FinishedAt
	}
	ctxArg, err := jsonArg(ses.Context)
	if err != nil {
		return fmt.Errorf("failed to finish session %s: context: %w", ses.ID, err)
	}
	handoff, err := jsonArg(ses.Handoff)
	if err != nil {
		return fmt.Errorf("failed to finish session %s: handoff: %w", ses.ID, err)
	}
	res, err := s.wdb.ExecContext(ctx, `UPDATE agent_sessions SET status = $2, finished_at = $3, context = $4, handoff = $5,
		error_text = $6 WHERE session_id = $1`, ses.ID, ses.Status, s.timeArg(finished), ctxArg, handoff, ses.Error)
	if err != nil {
		return fmt.Errorf("failed to finish session %s: %w", ses.ID, err)
	}
	if err := expectRow(res); err != nil {
		return fmt.Errorf("failed to finish session %s: %w", ses.ID, err)
	}
	return nil
}

const sessionColumns = `session_id, agent_id, agent_type, task, params, status, previous_session, started_at, finished_at,
	context, handoff, error_text`

func scanSession(sc interface{ Scan(...any) error }) (metastore.AgentSession, error) {
	var ses metastore.AgentSession
	var params, ctxJSON, handoff []byte
	if err := sc.Scan(&ses.ID, &ses.AgentID, &ses.AgentType, &ses.Task, &params, &ses.Status, &ses.Previous,
		timeDest{&ses.StartedAt}, nullTimeDest{&ses.FinishedAt}, &ctxJSON, &handoff, &ses.Error); err != nil {
		return ses, err
	}
	if len(params) > 0 {
		_ = json.Unmarshal(params, &ses.Params)
	}
	ses.Context, ses.Handoff = json.RawMessage(ctxJSON), json.RawMessage(handoff)
	return ses, nil
}

// GetSession returns one session.
func (s *store) GetSession(ctx context.Context, id string) (metastore.AgentSession, error) {
	ses, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM agent_sessions WHERE session_id = $1`, id))
	if errNoRows(err) {
		return ses, fmt.Errorf("session %q: %w", id, metastore.ErrNotFound)
	}
	if err != nil {
		return ses, fmt.Errorf("failed to read session %q: %w", id, err)
	}
	return ses, nil
}

// ListSessions returns sessions newest first.
func (s *store) ListSessions(ctx context.Context, f metastore.SessionFilter) ([]metastore.AgentSession, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionColumns+` FROM agent_sessions
		WHERE ($1 = '' OR agent_id = $1) AND ($2 = '' OR agent_type = $2) AND ($3 = '' OR task = $3) AND ($4 = '' OR status = $4)
		ORDER BY started_at DESC, session_id DESC LIMIT $5`, f.AgentID, f.AgentType, f.Task, f.Status, limit)
	if err != nil {
		return nil, fmt.Errorf("failed to list sessions: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.AgentSession
	for rows.Next() {
		ses, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list sessions: %w", err)
		}
		out = append(out, ses)
	}
	return out, rows.Err()
}
