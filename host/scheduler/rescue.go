package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// Orphans: River's own rescuer returns a job left running by a dead
// process to the queue only after RescueStuckJobsAfter (longer than the
// longest timeout), checked every 30 s by the leader. Daemons know better:
// each holds a process-bound lease (the metastore's, released by the kernel
// or the server when the process dies) for as long as it works jobs, so a
// running job whose worker's lease is free belongs to a dead daemon and is
// rescued at once — made retryable, or discarded if it used its last
// attempt — by whichever daemon sees it first, whose Observer hears of it.

// daemonLease names the lease a daemon holds while it works jobs.
func daemonLease(id string) string { return "daemon." + id }

// rescueLoop rescues orphaned jobs every interval.
func (s *Scheduler) rescueLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.RescueOrphans(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("failed to rescue jobs of dead daemons", "error", err)
		} else if n > 0 {
			s.log.Warn("rescued jobs a dead daemon left running", "jobs", n)
		}
	}
}

// RescueOrphans returns to the queue every running job whose daemon is
// gone, and reports how many.
func (s *Scheduler) RescueOrphans(ctx context.Context) (int, error) {
	if s.exec == nil {
		return 0, nil
	}
	unlock, err := s.cfg.Meta.LockRun(ctx, "river-rescue")
	if errors.Is(err, metastore.ErrLeaseHeld) {
		return 0, nil // another daemon is at it
	}
	if err != nil {
		return 0, err
	}
	defer unlock()
	running, err := s.Jobs(ctx, JobFilter{States: []string{string(rivertype.JobStateRunning)}, Limit: 1000})
	if err != nil {
		return 0, err
	}
	now := s.now().UTC()
	params := &riverdriver.JobRescueManyParams{Schema: s.cfg.Schema}
	var outcomes []Outcome
	for _, j := range running {
		if len(j.AttemptedBy) == 0 {
			continue
		}
		worker := j.AttemptedBy[len(j.AttemptedBy)-1]
		if worker == s.cfg.ID {
			continue
		}
		alive, err := s.cfg.Meta.RunAlive(ctx, daemonLease(worker))
		if err != nil {
			return 0, err
		}
		if alive {
			continue
		}
		cause := fmt.Sprintf("daemon %s died while running this job; rescued by %s", worker, s.cfg.ID)
		msg, _ := json.Marshal(rivertype.AttemptError{At: now, Attempt: j.Attempt, Error: cause})
		state, finalized := rivertype.JobStateRetryable, (*time.Time)(nil)
		o := Outcome{Job: Job{ID: j.ID, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Args: RunArgs{Source: j.Source}},
			Err: errors.New(cause), Rescued: true, RetryAt: now}
		if j.Attempt >= j.MaxAttempts {
			state, finalized = rivertype.JobStateDiscarded, &now
			o.Final, o.RetryAt = true, time.Time{}
		}
		outcomes = append(outcomes, o)
		params.ID = append(params.ID, j.ID)
		params.Error = append(params.Error, msg)
		params.FinalizedAt = append(params.FinalizedAt, finalized)
		params.ScheduledAt = append(params.ScheduledAt, now)
		params.State = append(params.State, string(state))
		s.log.Warn("rescuing a job whose daemon died", "job", j.ID, "source", j.Source, "daemon", worker, "state", state)
	}
	if len(params.ID) == 0 {
		return 0, nil
	}
	params.StuckHorizon = now
	if _, err := s.exec().JobRescueMany(ctx, params); err != nil {
		return 0, fmt.Errorf("failed to rescue jobs %v: %w", params.ID, err)
	}
	for _, o := range outcomes {
		s.observe(ctx, o)
	}
	return len(params.ID), nil
}
