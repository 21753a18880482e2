package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// defaultRunLimit is how many runs ListRuns returns when the filter sets no
// limit.
const defaultRunLimit = 50

const runColumns = `id, source, kind, status, started_at, finished_at, error_text, stats, owner`

// CreateRun inserts a run with status running. A zero StartedAt becomes now.
func (s *store) CreateRun(ctx context.Context, r metastore.Run) error {
	if r.ID == "" || r.Source == "" || r.Kind == "" {
		return fmt.Errorf("failed to create run %q: ID, Source and Kind are required", r.ID)
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = now()
	}
	stats, err := jsonArg(r.Stats)
	if err != nil {
		return fmt.Errorf("failed to create run %q: stats: %w", r.ID, err)
	}
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO runs (id, source, kind, status, started_at, error_text, stats, owner)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		r.ID, r.Source, r.Kind, metastore.RunRunning, s.timeArg(r.StartedAt), r.Error, stats, r.Owner)
	if err != nil {
		return fmt.Errorf("failed to create run %q: %w", r.ID, err)
	}
	return nil
}

// finalRunStatuses are the statuses FinishRun accepts.
var finalRunStatuses = map[string]bool{
	metastore.RunSucceeded: true,
	metastore.RunPartial:   true,
	metastore.RunFailed:    true,
	metastore.RunAbandoned: true,
}

// FinishRun sets a run's final status, error text and finish time. Nil stats
// keep the run's current stats.
func (s *store) FinishRun(ctx context.Context, id, status, errText string, stats json.RawMessage) error {
	if !finalRunStatuses[status] {
		return fmt.Errorf("failed to finish run %q: %q is not a final run status", id, status)
	}
	statsArg, err := jsonArg(stats)
	if err != nil {
		return fmt.Errorf("failed to finish run %q: stats: %w", id, err)
	}
	res, err := s.wdb.ExecContext(ctx, `UPDATE runs
		SET status = $2, finished_at = $3, error_text = $4, stats = COALESCE($5, stats)
		WHERE id = $1`,
		id, status, s.timeArg(now()), errText, statsArg)
	if err != nil {
		return fmt.Errorf("failed to finish run %q: %w", id, err)
	}
	if err := expectRow(res); err != nil {
		return fmt.Errorf("failed to finish run %q: %w", id, err)
	}
	return nil
}

// GetRun returns a run, or metastore.ErrNotFound (wrapped).
func (s *store) GetRun(ctx context.Context, id string) (metastore.Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = $1`, id))
	if errNoRows(err) {
		return metastore.Run{}, fmt.Errorf("failed to get run %q: %w", id, metastore.ErrNotFound)
	}
	if err != nil {
		return metastore.Run{}, fmt.Errorf("failed to get run %q: %w", id, err)
	}
	return r, nil
}

// ListRuns returns runs newest first (by start time, then ID descending).
func (s *store) ListRuns(ctx context.Context, f metastore.RunFilter) ([]metastore.Run, error) {
	var (
		conds []string
		args  []any
	)
	if f.Source != "" {
		args = append(args, f.Source)
		conds = append(conds, fmt.Sprintf("source = $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		conds = append(conds, fmt.Sprintf("status = $%d", len(args)))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultRunLimit
	}
	args = append(args, limit)
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY started_at DESC, id DESC LIMIT $%d`, len(args))

	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list runs: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var runs []metastore.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list runs: %w", err)
	}
	return runs, nil
}

func scanRun(r rowScanner) (metastore.Run, error) {
	var run metastore.Run
	err := r.Scan(&run.ID, &run.Source, &run.Kind, &run.Status, timeDest{&run.StartedAt},
		nullTimeDest{&run.FinishedAt}, &run.Error, (*[]byte)(&run.Stats), &run.Owner)
	return run, err
}

// StartStep records that a run's step started, with status
// metastore.RunRunning. Starting a step again restarts it. It returns
// metastore.ErrNotFound (wrapped) if the run does not exist.
func (s *store) StartStep(ctx context.Context, runID, name string) error {
	if name == "" {
		return fmt.Errorf("failed to start a step of run %q: empty step name", runID)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("failed to start step %q of run %q: %w", name, runID, err)
	}
	defer func() { _ = tx.Rollback() }()
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, runID).Scan(&exists); err != nil {
		return fmt.Errorf("failed to start step %q of run %q: %w", name, runID, err)
	}
	if !exists {
		return fmt.Errorf("failed to start step %q of run %q: run %w", name, runID, metastore.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO run_steps (run_id, name, status, started_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (run_id, name) DO UPDATE SET
			status = excluded.status,
			started_at = excluded.started_at,
			finished_at = NULL,
			detail = NULL`,
		runID, name, metastore.RunRunning, s.timeArg(now())); err != nil {
		return fmt.Errorf("failed to start step %q of run %q: %w", name, runID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("failed to start step %q of run %q: %w", name, runID, err)
	}
	return nil
}

// FinishStep sets a started step's final status and detail. It returns
// metastore.ErrNotFound (wrapped) if the step was not started.
func (s *store) FinishStep(ctx context.Context, runID, name, status string, detail json.RawMessage) error {
	if status == "" {
		return fmt.Errorf("failed to finish step %q of run %q: empty status", name, runID)
	}
	detailArg, err := jsonArg(detail)
	if err != nil {
		return fmt.Errorf("failed to finish step %q of run %q: detail: %w", name, runID, err)
	}
	res, err := s.wdb.ExecContext(ctx, `UPDATE run_steps
		SET status = $3, finished_at = $4, detail = $5
		WHERE run_id = $1 AND name = $2`,
		runID, name, status, s.timeArg(now()), detailArg)
	if err != nil {
		return fmt.Errorf("failed to finish step %q of run %q: %w", name, runID, err)
	}
	if err := expectRow(res); err != nil {
		return fmt.Errorf("failed to finish step %q of run %q: step %w", name, runID, err)
	}
	return nil
}

// ListSteps returns a run's steps in the order they started, or
// metastore.ErrNotFound (wrapped) if the run does not exist.
func (s *store) ListSteps(ctx context.Context, runID string) ([]metastore.Step, error) {
	var exists bool
	if err := s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM runs WHERE id = $1)`, runID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("failed to list steps of run %q: %w", runID, err)
	}
	if !exists {
		return nil, fmt.Errorf("failed to list steps of run %q: %w", runID, metastore.ErrNotFound)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, name, status, started_at, finished_at, detail
		FROM run_steps WHERE run_id = $1 ORDER BY started_at, name`, runID)
	if err != nil {
		return nil, fmt.Errorf("failed to list steps of run %q: %w", runID, err)
	}
	defer func() { _ = rows.Close() }()
	var steps []metastore.Step
	for rows.Next() {
		var st metastore.Step
		if err := rows.Scan(&st.RunID, &st.Name, &st.Status, timeDest{&st.StartedAt},
			nullTimeDest{&st.FinishedAt}, (*[]byte)(&st.Detail)); err != nil {
			return nil, fmt.Errorf("failed to list steps of run %q: %w", runID, err)
		}
		steps = append(steps, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list steps of run %q: %w", runID, err)
	}
	return steps, nil
}

// MarkRunRetried turns a failed run into a retried one.
func (s *store) MarkRunRetried(ctx context.Context, id string) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `UPDATE runs SET status = $2 WHERE id = $1 AND status = $3`, id, metastore.RunRetried, metastore.RunFailed)
	if err != nil {
		return false, fmt.Errorf("failed to mark run %q retried: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("failed to mark run %q retried: %w", id, err)
	}
	return n == 1, nil
}
