package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/sdk"
)

// worker works pipeline run jobs.
type worker struct {
	river.WorkerDefaults[RunArgs]
	s *Scheduler
}

// Timeout is the source's timeout: River cancels the job's context, the
// pipeline kills the plugin.
func (w *worker) Timeout(job *river.Job[RunArgs]) time.Duration { return w.s.timeout(job.Args.Source) }

// output is what a job records in River (shown by `bedrot jobs`).
type output struct {
	RunID   string `json:"run_id,omitempty"`
	Status  string `json:"status,omitempty"`
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (w *worker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	s := w.s
	args := job.Args
	j := Job{ID: job.ID, Attempt: job.Attempt, MaxAttempts: job.MaxAttempts, Args: args}
	log := s.log.With("job", job.ID, "source", args.Source, "mode", args.Mode, "trigger", args.Trigger, "attempt", job.Attempt)

	pauses, err := s.cfg.Meta.Pauses(ctx)
	if err != nil {
		return err
	}
	if p, ok := pauses[args.Source]; ok {
		reason := fmt.Sprintf("source paused by %s: %s", p.By, p.Reason)
		if args.Trigger == TriggerSchedule {
			log.Warn("scheduled run skipped: source paused", "paused_by", p.By, "reason", p.Reason)
			_ = river.RecordOutput(ctx, output{Skipped: reason})
			s.observe(ctx, Outcome{Job: j, Skipped: reason, Final: true})
			return nil
		}
		s.observe(ctx, Outcome{Job: j, Skipped: reason, Waiting: true})
		return river.JobSnooze(s.cfg.PauseRecheck)
	}

	unlock, err := s.cfg.Meta.LockRun(ctx, "source."+args.Source)
	if errors.Is(err, metastore.ErrLeaseHeld) {
		reason := "the previous run of " + args.Source + " is still running"
		// A tick that finds its source busy is skipped; one that already
		// started once (retried, or rescued from a dead daemon) waits, so
		// that its run happens.
		if args.Trigger == TriggerSchedule && job.Attempt == 1 {
			log.Warn("scheduled run skipped: " + reason)
			_ = river.RecordOutput(ctx, output{Skipped: reason})
			s.observe(ctx, Outcome{Job: j, Skipped: reason, Final: true})
			return nil
		}
		s.observe(ctx, Outcome{Job: j, Skipped: reason, Waiting: true})
		return river.JobSnooze(5 * time.Second)
	}
	if err != nil {
		return err
	}
	defer unlock()

	log.Info("run starting")
	res, runErr := s.cfg.Runner.Run(ctx, j)
	out := output{RunID: res.RunID, Status: res.Status}
	if runErr == nil && (res.Status == metastore.RunSucceeded || res.Status == metastore.RunPartial) {
		_ = river.RecordOutput(ctx, out)
		log.Info("run finished", "run", res.RunID, "status", res.Status, "rows", res.Rows)
		s.observe(ctx, Outcome{Job: j, Result: res, Final: true})
		return nil
	}
	if runErr == nil {
		runErr = errors.New(orText(res.Error, "run "+res.Status))
	}
	if res.RunID != "" && !strings.Contains(runErr.Error(), res.RunID) {
		runErr = fmt.Errorf("run %s: %w", res.RunID, runErr)
	}
	out.Error = runErr.Error()
	_ = river.RecordOutput(ctx, out)
	o := Outcome{Job: j, Result: res, Err: runErr}
	if res.ErrorKind == sdk.KindConfig.String() {
		o.Final = true
		log.Error("run failed with a configuration error; not retried", "run", res.RunID, "error", runErr)
		s.observe(ctx, o)
		return river.JobCancel(runErr)
	}
	if job.Attempt >= job.MaxAttempts {
		o.Final = true
		log.Error("run failed after its retries", "run", res.RunID, "error", runErr)
		s.observe(ctx, o)
		return runErr
	}
	o.RetryAt = s.nextRetry(job.ID, job.Attempt)
	if res.RetryAt != nil && res.RetryAt.After(o.RetryAt) {
		o.RetryAt = *res.RetryAt
	}
	s.mu.Lock()
	s.retryAt[job.ID] = o.RetryAt
	s.mu.Unlock()
	log.Warn("run failed; retrying", "run", res.RunID, "error", runErr, "retry_at", o.RetryAt)
	s.observe(ctx, o)
	return runErr
}

func (s *Scheduler) observe(ctx context.Context, o Outcome) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.JobDone(context.WithoutCancel(ctx), o)
	}
}

// nextRetry is attempt's backoff: RetryBackoff doubled per attempt, ±25%.
func (s *Scheduler) nextRetry(_ int64, attempt int) time.Time {
	d := s.cfg.RetryBackoff << max(0, attempt-1)
	return s.now().Add(jitter(d))
}

// retryPolicy tells River when a failed job runs again: when the worker
// said (a rate limit's reset, or its backoff), else the backoff.
type retryPolicy struct{ s *Scheduler }

func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	p.s.mu.Lock()
	t, ok := p.s.retryAt[job.ID]
	delete(p.s.retryAt, job.ID)
	p.s.mu.Unlock()
	if ok {
		return t
	}
	// A panic, a lost lease or a shutdown: the attempt count is River's.
	return p.s.nextRetry(job.ID, max(1, len(job.Errors)+1))
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
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
