package scheduler

import "context"

// AgentArgs is an agent session queued as a job: an agent's next step
// run_agent:TYPE, or an operator's request.
type AgentArgs struct {
	AgentType string `json:"agent_type"`
	// Task is the task to run; empty: the agent's first.
	Task   string            `json:"task,omitempty"`
	Params map[string]string `json:"params,omitempty"`
	// Previous is the session to hand from.
	Previous string `json:"previous,omitempty"`
	// RequestedBy is the session (or user) that asked for it.
	RequestedBy string `json:"requested_by,omitempty"`
}

// Kind is the River job kind.
func (AgentArgs) Kind() string { return "bedrot_agent" }

// AgentRunner runs a queued agent session.
type AgentRunner func(ctx context.Context, args AgentArgs) error

// QueueAgent queues an agent session and returns its job id.
func (s *Scheduler) QueueAgent(ctx context.Context, args AgentArgs) (int64, error) {
	if args.AgentType == "" {
		return 0, badRequestf("an agent job needs an agent type")
	}
	return s.insert(ctx, args, "agent "+args.AgentType)
}
