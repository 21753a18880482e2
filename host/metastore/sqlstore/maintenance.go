package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MaintenanceLast returns when the task's current interval began.
func (s *store) MaintenanceLast(ctx context.Context, task string) (time.Time, error) {
	var at time.Time
	err := s.db.QueryRowContext(ctx, `SELECT last_at FROM maintenance WHERE task = $1`, task).Scan(timeDest{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("failed to read the schedule of %s: %w", task, err)
	}
	return at, nil
}

// StartMaintenance records at for a task never scheduled; the first daemon
// to do so wins.
func (s *store) StartMaintenance(ctx context.Context, task string, at time.Time) (time.Time, error) {
	if _, err := s.wdb.ExecContext(ctx, `INSERT INTO maintenance (task, last_at) VALUES ($1, $2)
		ON CONFLICT (task) DO NOTHING`, task, s.timeArg(at)); err != nil {
		return time.Time{}, fmt.Errorf("failed to schedule %s: %w", task, err)
	}
	return s.MaintenanceLast(ctx, task)
}

// MaintenanceDone records that the task ran at at.
func (s *store) MaintenanceDone(ctx context.Context, task string, at time.Time) error {
	if _, err := s.wdb.ExecContext(ctx, `INSERT INTO maintenance (task, last_at) VALUES ($1, $2)
		ON CONFLICT (task) DO UPDATE SET last_at = excluded.last_at`, task, s.timeArg(at)); err != nil {
		return fmt.Errorf("failed to record that %s ran: %w", task, err)
	}
	return nil
}
