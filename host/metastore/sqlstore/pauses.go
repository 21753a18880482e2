package sqlstore

import (
	"context"
	"fmt"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// PauseSource pauses a source unless it already is.
func (s *store) PauseSource(ctx context.Context, p metastore.Pause) (bool, error) {
	if p.Source == "" {
		return false, fmt.Errorf("failed to pause: no source named")
	}
	if p.At.IsZero() {
		p.At = now()
	}
	res, err := s.wdb.ExecContext(ctx, `INSERT INTO source_pauses (source, paused_at, paused_by, reason)
		VALUES ($1, $2, $3, $4) ON CONFLICT (source) DO NOTHING`, p.Source, s.timeArg(p.At), p.By, p.Reason)
	if err != nil {
		return false, fmt.Errorf("failed to pause %s: %w", p.Source, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("failed to pause %s: %w", p.Source, err)
	}
	return n == 1, nil
}

// ResumeSource resumes a source.
func (s *store) ResumeSource(ctx context.Context, source string) (bool, error) {
	res, err := s.wdb.ExecContext(ctx, `DELETE FROM source_pauses WHERE source = $1`, source)
	if err != nil {
		return false, fmt.Errorf("failed to resume %s: %w", source, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("failed to resume %s: %w", source, err)
	}
	return n == 1, nil
}

// Pauses returns the paused sources.
func (s *store) Pauses(ctx context.Context) (map[string]metastore.Pause, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, paused_at, paused_by, reason FROM source_pauses`)
	if err != nil {
		return nil, fmt.Errorf("failed to read paused sources: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]metastore.Pause{}
	for rows.Next() {
		var p metastore.Pause
		if err := rows.Scan(&p.Source, timeDest{&p.At}, &p.By, &p.Reason); err != nil {
			return nil, fmt.Errorf("failed to read paused sources: %w", err)
		}
		out[p.Source] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to read paused sources: %w", err)
	}
	return out, nil
}
