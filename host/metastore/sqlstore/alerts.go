package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// defaultAlertLimit is how many alerts ListAlerts returns when the filter
// sets no limit.
const defaultAlertLimit = 100

const alertColumns = `id, dedup_key, kind, severity, state, title, detail, source, dataset, run_id,
	first_seen, last_seen, condition_at, seen_count, acked_at, acked_by, resolved_at, resolved_by,
	notified_at, notify_error, remediation, details`

// newAlertID names a new alert occurrence: "alert-<UTC time>-<random>".
func newAlertID(at time.Time) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails
	return "alert-" + at.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// nullTimeArg makes an optional time a query argument (NULL for nil).
func (s *store) nullTimeArg(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return s.timeArg(*t)
}

// RaiseAlert opens an alert or updates the open alert with the same key, in
// one statement: the partial unique index on open keys is the arbiter, so
// concurrent raisers (in any process) open one alert.
func (s *store) RaiseAlert(ctx context.Context, a metastore.Alert) (metastore.Alert, bool, error) {
	if a.Key == "" || a.Kind == "" || strings.TrimSpace(a.Title) == "" {
		return metastore.Alert{}, false, fmt.Errorf("failed to raise alert %q: key, kind and title are required", a.Key)
	}
	if !metastore.ValidAlertSeverity(a.Severity) {
		return metastore.Alert{}, false, fmt.Errorf("failed to raise alert %q: severity %q is not one of critical, high, medium, low", a.Key, a.Severity)
	}
	details, err := jsonArg(a.Details)
	if err != nil {
		return metastore.Alert{}, false, fmt.Errorf("failed to raise alert %q: details: %w", a.Key, err)
	}
	at := now()
	if a.LastSeen.IsZero() {
		a.LastSeen = at
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen = a.LastSeen
	}
	id := newAlertID(a.FirstSeen)
	got, err := scanAlert(s.wdb.QueryRowContext(ctx, `INSERT INTO alerts (id, dedup_key, kind, severity, state, title, detail,
			source, dataset, run_id, first_seen, last_seen, condition_at, seen_count, details)
		VALUES ($1, $2, $3, $4, 'firing', $5, $6, $7, $8, $9, $10, $11, $12, 1, $13)
		ON CONFLICT (dedup_key) WHERE state <> 'resolved' DO UPDATE SET
			seen_count = alerts.seen_count + 1,
			last_seen = CASE WHEN excluded.last_seen > alerts.last_seen THEN excluded.last_seen ELSE alerts.last_seen END,
			title = excluded.title,
			detail = excluded.detail,
			details = COALESCE(excluded.details, alerts.details),
			run_id = CASE WHEN excluded.run_id <> '' THEN excluded.run_id ELSE alerts.run_id END
		RETURNING `+alertColumns,
		id, a.Key, a.Kind, a.Severity, a.Title, a.Detail, a.Source, a.Dataset, a.RunID,
		s.timeArg(a.FirstSeen), s.timeArg(a.LastSeen), s.nullTimeArg(a.ConditionAt), details))
	if err != nil {
		return metastore.Alert{}, false, fmt.Errorf("failed to raise alert %q: %w", a.Key, err)
	}
	return got, got.ID == id, nil
}

// AckAlert moves a firing alert to acknowledged.
func (s *store) AckAlert(ctx context.Context, id, by string, at time.Time) (metastore.Alert, bool, error) {
	if at.IsZero() {
		at = now()
	}
	got, err := scanAlert(s.wdb.QueryRowContext(ctx, `UPDATE alerts SET state = 'acknowledged', acked_at = $2, acked_by = $3
		WHERE id = $1 AND state = 'firing' RETURNING `+alertColumns, id, s.timeArg(at), by))
	if err == nil {
		return got, true, nil
	}
	if !errNoRows(err) {
		return metastore.Alert{}, false, fmt.Errorf("failed to acknowledge alert %q: %w", id, err)
	}
	cur, err := s.GetAlert(ctx, id)
	if err != nil {
		return metastore.Alert{}, false, fmt.Errorf("failed to acknowledge alert: %w", err)
	}
	if cur.State == metastore.AlertResolved {
		return cur, false, fmt.Errorf("failed to acknowledge alert %q (%s): %w by %s", id, cur.Key, metastore.ErrAlertResolved, cur.ResolvedBy)
	}
	return cur, false, nil
}

// ResolveAlert resolves an open alert.
func (s *store) ResolveAlert(ctx context.Context, id, by string, at time.Time) (metastore.Alert, bool, error) {
	if at.IsZero() {
		at = now()
	}
	got, err := scanAlert(s.wdb.QueryRowContext(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $2, resolved_by = $3
		WHERE id = $1 AND state <> 'resolved' RETURNING `+alertColumns, id, s.timeArg(at), by))
	if err == nil {
		return got, true, nil
	}
	if !errNoRows(err) {
		return metastore.Alert{}, false, fmt.Errorf("failed to resolve alert %q: %w", id, err)
	}
	cur, err := s.GetAlert(ctx, id)
	if err != nil {
		return metastore.Alert{}, false, fmt.Errorf("failed to resolve alert: %w", err)
	}
	return cur, false, nil
}

// GetAlert returns one alert.
func (s *store) GetAlert(ctx context.Context, id string) (metastore.Alert, error) {
	a, err := scanAlert(s.db.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	if errNoRows(err) {
		return a, fmt.Errorf("failed to get alert %q: %w", id, metastore.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("failed to get alert %q: %w", id, err)
	}
	return a, nil
}

// ListAlerts returns alerts last seen newest first.
func (s *store) ListAlerts(ctx context.Context, f metastore.AlertFilter) ([]metastore.Alert, error) {
	var (
		conds []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	switch {
	case f.State == "":
	case f.State == metastore.AlertOpen:
		conds = append(conds, `state <> 'resolved'`)
	case metastore.ValidAlertState(f.State):
		add("state = $%d", f.State)
	default:
		return nil, fmt.Errorf("failed to list alerts: state %q is not one of open, firing, acknowledged, resolved", f.State)
	}
	if f.Severity != "" {
		if !metastore.ValidAlertSeverity(f.Severity) {
			return nil, fmt.Errorf("failed to list alerts: severity %q is not one of critical, high, medium, low", f.Severity)
		}
		add("severity = $%d", f.Severity)
	}
	if f.Source != "" {
		add("source = $%d", f.Source)
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if f.Key != "" {
		add("dedup_key = $%d", f.Key)
	}
	if !f.Since.IsZero() {
		add("last_seen >= $%d", s.timeArg(f.Since))
	}
	q := `SELECT ` + alertColumns + ` FROM alerts`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY last_seen DESC, id DESC`
	limit := f.Limit
	if limit == 0 {
		limit = defaultAlertLimit
	}
	if limit > 0 {
		args = append(args, limit)
		q += fmt.Sprintf(` LIMIT $%d`, len(args))
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("failed to list alerts: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []metastore.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("failed to list alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to list alerts: %w", err)
	}
	return out, nil
}

// OpenAlertCounts counts open alerts by severity.
func (s *store) OpenAlertCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT severity, COUNT(*) FROM alerts WHERE state <> 'resolved' GROUP BY severity`)
	if err != nil {
		return nil, fmt.Errorf("failed to count open alerts: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int{}
	for rows.Next() {
		var (
			sev string
			n   int
		)
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, fmt.Errorf("failed to count open alerts: %w", err)
		}
		out[sev] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("failed to count open alerts: %w", err)
	}
	return out, nil
}

// MarkAlertNotified records a notification attempt.
func (s *store) MarkAlertNotified(ctx context.Context, id string, at time.Time, errText string) error {
	if at.IsZero() {
		at = now()
	}
	var (
		q    string
		args []any
	)
	if errText == "" {
		q, args = `UPDATE alerts SET notified_at = $2, notify_error = '' WHERE id = $1`, []any{id, s.timeArg(at)}
	} else {
		q, args = `UPDATE alerts SET notify_error = $2 WHERE id = $1`, []any{id, errText}
	}
	res, err := s.wdb.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("failed to record notification of alert %q: %w", id, err)
	}
	if err := expectRow(res); err != nil {
		return fmt.Errorf("failed to record notification of alert %q: %w", id, err)
	}
	return nil
}

// SetAlertRemediation records what was done about an alert automatically.
func (s *store) SetAlertRemediation(ctx context.Context, id, remediation string) error {
	res, err := s.wdb.ExecContext(ctx, `UPDATE alerts SET remediation = $2 WHERE id = $1`, id, remediation)
	if err != nil {
		return fmt.Errorf("failed to record remediation of alert %q: %w", id, err)
	}
	if err := expectRow(res); err != nil {
		return fmt.Errorf("failed to record remediation of alert %q: %w", id, err)
	}
	return nil
}

func scanAlert(r rowScanner) (metastore.Alert, error) {
	var a metastore.Alert
	err := r.Scan(&a.ID, &a.Key, &a.Kind, &a.Severity, &a.State, &a.Title, &a.Detail, &a.Source, &a.Dataset, &a.RunID,
		timeDest{&a.FirstSeen}, timeDest{&a.LastSeen}, nullTimeDest{&a.ConditionAt}, &a.Count,
		nullTimeDest{&a.AckedAt}, &a.AckedBy, nullTimeDest{&a.ResolvedAt}, &a.ResolvedBy,
		nullTimeDest{&a.NotifiedAt}, &a.NotifyError, &a.Remediation, (*[]byte)(&a.Details))
	return a, err
}
