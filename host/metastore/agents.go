package metastore

import (
	"context"
	"encoding/json"
	"time"
)

// Agent statuses (agent_registry.current_status).
const (
	AgentIdle    = "idle"
	AgentRunning = "running"
	AgentFailed  = "failed"
)

// Agent is one row of the design's agent_registry table.
type Agent struct {
	ID            string     `json:"agent_id"`
	Type          string     `json:"agent_type"`
	LastActive    *time.Time `json:"last_active,omitempty"`
	CurrentStatus string     `json:"current_status"`
	// ResourceUsage is JSON: peak memory, bytes read and written, ...
	ResourceUsage json.RawMessage `json:"resource_usage,omitempty"`
	// PerformanceMetrics is JSON: tasks, successes, errors, seconds.
	PerformanceMetrics     json.RawMessage `json:"performance_metrics,omitempty"`
	KnowledgeContributions int             `json:"knowledge_contributions"`
	CreatedAt              time.Time       `json:"created_at"`
	UpdatedAt              time.Time       `json:"updated_at"`
}

// Session statuses.
const (
	SessionRunning = "running"
	// SessionCompleted: the agent finished and every hand-off step was done.
	SessionCompleted = "completed"
	// SessionIncomplete: the agent finished but skipped a hand-off step.
	SessionIncomplete = "incomplete"
	SessionFailed     = "failed"
)

// AgentSession is one run of an agent on a task.
type AgentSession struct {
	ID        string            `json:"session_id"`
	AgentID   string            `json:"agent_id"`
	AgentType string            `json:"agent_type"`
	Task      string            `json:"task"`
	Params    map[string]string `json:"params,omitempty"`
	Status    string            `json:"status"`
	// Previous is the session whose context this one was handed.
	Previous   string     `json:"previous_session,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// Context is the session's final context (current_context.json).
	Context json.RawMessage `json:"context,omitempty"`
	// Handoff records each hand-off step and whether it was done.
	Handoff json.RawMessage `json:"handoff,omitempty"`
	Error   string          `json:"error,omitempty"`
}

// SessionFilter selects sessions.
type SessionFilter struct {
	AgentID, AgentType, Task, Status string
	Limit                            int // 0: 50
}

// AgentStore keeps the agent registry and the agents' sessions.
type AgentStore interface {
	// UpsertAgent inserts or updates an agent by ID (CreatedAt is kept).
	UpsertAgent(ctx context.Context, a Agent) error
	// GetAgent returns ErrNotFound (wrapped) for an unknown agent.
	GetAgent(ctx context.Context, id string) (Agent, error)
	ListAgents(ctx context.Context) ([]Agent, error)
	CreateSession(ctx context.Context, s AgentSession) error
	// FinishSession records a session's end.
	FinishSession(ctx context.Context, s AgentSession) error
	GetSession(ctx context.Context, id string) (AgentSession, error)
	// ListSessions returns sessions newest first.
	ListSessions(ctx context.Context, f SessionFilter) ([]AgentSession, error)
}
