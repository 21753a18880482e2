package sqlstore

import (
	"context"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// AddValidation records a validation result.
func (s *store) AddValidation(ctx context.Context, v metastore.Validation) error {
	if v.ID == "" || v.Dataset == "" || len(v.Result) == 0 {
		return fmt.Errorf("failed to record validation %q of %q: id, dataset and result are required", v.ID, v.Dataset)
	}
	result, err := jsonArg(v.Result)
	if err != nil {
		return fmt.Errorf("failed to record validation %q: result: %w", v.ID, err)
	}
	_, err = s.wdb.ExecContext(ctx, `INSERT INTO validations (id, dataset, suite, run_id, started_at, finished_at, row_count, success, score, result)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		v.ID, v.Dataset, v.Suite, v.RunID, s.timeArg(v.StartedAt), s.timeArg(v.FinishedAt), v.Rows, v.Success, v.Score, result)
	if err != nil {
		return fmt.Errorf("failed to record validation %q of %s: %w", v.ID, v.Dataset, err)
	}
	return nil
}

// GetValidation returns one validation with its result document.
func (s *store) GetValidation(ctx context.Context, id string) (metastore.Validation, error) {
	var v metastore.Validation
	err := s.db.QueryRowContext(ctx, `SELECT id, dataset, suite, run_id, started_at, finished_at, row_count, success, score, result
		FROM validations WHERE id = $1`, id).Scan(&v.ID, &v.Dataset, &v.Suite, &v.RunID, timeDest{&v.StartedAt}, timeDest{&v.FinishedAt},
		&v.Rows, &v.Success, &v.Score, (*[]byte)(&v.Result))
	if errNoRows(err) {
		return v, fmt.Errorf("failed to get validation %q: %w", id, metastore.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("failed to get validation %q: %w", id, err)
	}
	return v, nil
}

// ListValidations returns validations newest first, without results.
func (s *store) ListValidations(ctx context.Context, f metastore.ValidationFilter) ([]metastore.Validation, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q := `SELECT id, dataset, suite, run_id, started_at, finished_at, row_count, success, score FROM validations`
	args := []any{}
	if f.Dataset != "" {
		args = append(args, f.Dataset)
		q += ` WHERE dataset = $1`
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY started_at DESC, id DESC LIMIT $%d`, len(args))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list validations: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.Validation
	for rows.Next() {
		var v metastore.Validation
		if err := rows.Scan(&v.ID, &v.Dataset, &v.Suite, &v.RunID, timeDest{&v.StartedAt}, timeDest{&v.FinishedAt}, &v.Rows, &v.Success, &v.Score); err != nil {
			return nil, fmt.Errorf("failed to list validations: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list validations: %w", err)
	}
	return out, nil
}
