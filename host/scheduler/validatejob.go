package scheduler

import "context"

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

// QueueValidation queues a dataset's validation and returns its job id.
func (s *Scheduler) QueueValidation(ctx context.Context, args ValidateArgs) (int64, error) {
	if args.Dataset == "" {
		return 0, badRequestf("a validation job needs a dataset")
	}
	return s.insert(ctx, args, "the validation of "+args.Dataset)
}
