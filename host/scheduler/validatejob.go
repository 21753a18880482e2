package scheduler

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
)

// ValidateArgs is a dataset's validation queued as a job: an agent's next
// step validate_schema:DATASET.
type ValidateArgs struct {
	Dataset string `json:"dataset"`
	// RequestedBy is the session (or user) that asked for it.
	RequestedBy string `json:"requested_by,omitempty"`
}

// Kind is the River job kind.
func (ValidateArgs) Kind() string { return "bedrot_validate" }

// Validator validates a dataset against its expectation suite and records
// the outcome.
type Validator func(ctx context.Context, args ValidateArgs) error

// validateWorker works validation jobs.
type validateWorker struct {
	river.WorkerDefaults[ValidateArgs]
	s *Scheduler
}

func (w *validateWorker) Work(ctx context.Context, job *river.Job[ValidateArgs]) error {
	if w.s.cfg.Validator == nil {
		return river.JobCancel(errors.New("this daemon validates no datasets"))
	}
	return w.s.cfg.Validator(ctx, job.Args)
}

// QueueValidation queues a dataset's validation and returns its job id.
func (s *Scheduler) QueueValidation(ctx context.Context, args ValidateArgs) (int64, error) {
	if args.Dataset == "" {
		return 0, badRequestf("a validation job needs a dataset")
	}
	res, err := s.client.Insert(ctx, args, &river.InsertOpts{Queue: Queue})
	if err != nil {
		return 0, fmt.Errorf("failed to queue the validation of %s: %w", args.Dataset, err)
	}
	return res.Job.ID, nil
}
