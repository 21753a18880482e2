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

// QueueAgent queues an agent session and returns its job id.
func (s *Scheduler) QueueAgent(ctx context.Context, args AgentArgs) (int64, error) {
	if args.AgentType == "" {
		return 0, badRequestf("an agent job needs an agent type")
	}
	return s.insert(ctx, args, "agent "+args.AgentType)
}

// funcWorker works the jobs of one kind with a function from the
// scheduler's configuration; without one, it cancels them.
type funcWorker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	work   func(context.Context, T) error
	absent string // the cancellation's reason when work is nil
}

func (w *funcWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	if w.work == nil {
		return river.JobCancel(errors.New(w.absent))
	}
	return w.work(ctx, job.Args)
}

// insert queues a job on the scheduler's queue and returns its id; what
// names it in the error.
func (s *Scheduler) insert(ctx context.Context, args river.JobArgs, what string) (int64, error) {
	res, err := s.client.Insert(ctx, args, &river.InsertOpts{Queue: Queue})
	if err != nil {
		return 0, fmt.Errorf("failed to queue %s: %w", what, err)
	}
	return res.Job.ID, nil
}
