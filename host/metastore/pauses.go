package metastore

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Pause records that a source is paused: the daemon starts none of its
// runs until it is resumed.
type Pause struct {
	Source string
	At     time.Time
	// By is who paused it: a user name, or "auto" for an alert's
	// remediation.
	By     string
	Reason string
}

// PauseStore keeps which sources are paused.
type PauseStore interface {
	// PauseSource pauses a source; pausing a paused source keeps the first
	// pause and reports false.
	PauseSource(ctx context.Context, p Pause) (paused bool, err error)
	// ResumeSource resumes a source and reports whether it was paused.
	ResumeSource(ctx context.Context, source string) (resumed bool, err error)
	// Pauses returns the paused sources by name.
	Pauses(ctx context.Context) (map[string]Pause, error)
}

// WaitLock takes the lease key, waiting (polling every interval) while
// another holder has it, until ctx ends.
func WaitLock(ctx context.Context, s Store, key string, interval time.Duration) (unlock func(), err error) {
	for {
		unlock, err := s.LockRun(ctx, key)
		if !errors.Is(err, ErrLeaseHeld) {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lease %q, held by another process: %w", key, ctx.Err())
		case <-time.After(interval):
		}
	}
}
