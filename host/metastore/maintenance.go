package metastore

import (
	"context"
	"time"
)

// MaintenanceStore keeps the schedule of lake-wide maintenance tasks (the
// scrub) that the daemons sharing the metastore run between them.
type MaintenanceStore interface {
	// MaintenanceLast returns when the task's current interval began: it
	// last ran then, or a daemon began its schedule then (StartMaintenance).
	// It is the zero time for a task never scheduled.
	MaintenanceLast(ctx context.Context, task string) (time.Time, error)
	// StartMaintenance records at for a task never scheduled and returns
	// the task's time: at, or what another daemon recorded first.
	StartMaintenance(ctx context.Context, task string, at time.Time) (time.Time, error)
	// MaintenanceDone records that the task ran at at.
	MaintenanceDone(ctx context.Context, task string, at time.Time) error
}
