package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
)

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

// agentWorker works agent jobs.
type agentWorker struct {
	river.WorkerDefaults[AgentArgs]
	s *Scheduler
}

func (w *agentWorker) Work(ctx context.Context, job *river.Job[AgentArgs]) error {
	if w.s.cfg.AgentRunner == nil {
		return river.JobCancel(errors.New("this daemon runs no agents"))
	}
	return w.s.cfg.AgentRunner(ctx, job.Args)
}

// QueueAgent queues an agent session and returns its job id.
func (s *Scheduler) QueueAgent(ctx context.Context, args AgentArgs) (int64, error) {
	if args.AgentType == "" {
		return 0, badRequestf("an agent job needs an agent type")
	}
	res, err := s.client.Insert(ctx, args, &river.InsertOpts{Queue: Queue})
	if err != nil {
		return 0, fmt.Errorf("failed to queue agent %s: %w", args.AgentType, err)
	}
	return res.Job.ID, nil
}
