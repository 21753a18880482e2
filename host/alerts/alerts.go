// Package alerts turns alert conditions into alerts with a lifecycle
// (firing → acknowledged → resolved), de-duplicated on a key, notified and
// remediated after the alerting matrix (DESIGN.md, issue 6):
//
//	severity  condition                           notification     remediation
//	critical  data loss (file missing or damaged) PagerDuty + SMS  pause the pipeline
//	high      a run failed after its retries      email + Slack    retry 3x
//	medium    data quality warning                email            log for review
//	low       performance degradation             dashboard only   none
//
// Which notifiers a severity reaches is the notify.Router's configuration;
// the Manager sends every new alert and every change of state to it, with
// the alert's key as notification ID so that PagerDuty folds the events of
// one alert into one incident. Remediation goes through a Remediator the
// daemon implements with its scheduler.
//
// Detectors (DataLoss, FailedRuns, QualityWarnings, SlowRuns) return the
// conditions that hold now; Manager.Reconcile raises them and resolves, as
// "auto", the open alerts of the same kind whose condition cleared. SLO
// computes the service level indicators from runs and alerts.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/host/notify"
)

// Condition kinds, the first part of their alerts' keys.
const (
	KindDataLoss  = "data_loss"
	KindRunFailed = "run_failed"
	KindQuality   = "quality"
	KindSlowRun   = "slow_run"
)

// RetryAttempts is how many retries a high alert asks of the Remediator.
const RetryAttempts = 3

// Condition is a problem a detector found that holds now.
type Condition struct {
	// Key de-duplicates: while an alert with this key is open, raising the
	// condition again updates it, e.g. "run_failed:spotify".
	Key      string
	Kind     string
	Severity notify.Severity
	Title    string
	Detail   string
	Source   string
	Dataset  string
	RunID    string
	// Since is when the condition began, if known (the failing run's
	// finish); the SLO's time to detect is measured from it.
	Since time.Time
	// Details are extra facts (counts, keys, durations).
	Details map[string]string
}

// Notifier delivers alerts; *notify.Router implements it.
type Notifier interface {
	Notify(ctx context.Context, a notify.Alert) error
}

// Remediator acts on alerts automatically; the daemon implements it with
// its scheduler.
type Remediator interface {
	// Pause stops scheduling source's runs (critical alerts) until someone
	// resumes it. An empty source means the whole pipeline: the alert
	// concerns no single source (e.g. a curated dataset).
	Pause(ctx context.Context, source, reason string) error
	// Retry schedules source's run again, up to attempts times (high
	// alerts).
	Retry(ctx context.Context, source string, attempts int) error
}

// Options configure a Manager. Every field is optional.
type Options struct {
	// Notifier receives new alerts and changes of state; nil sends none.
	Notifier Notifier
	// Remediator acts on critical and high alerts; nil does nothing.
	Remediator Remediator
	// Logger logs notification and remediation failures and medium alerts
	// "for review".
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Manager raises, acknowledges and resolves alerts in the metastore,
// notifying and remediating as it goes. It is safe for concurrent use, and
// several daemons may share one metastore: de-duplication happens there.
type Manager struct {
	store metastore.AlertStore
	opts  Options
}

// NewManager returns a Manager keeping alerts in store.
func NewManager(store metastore.AlertStore, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{store: store, opts: opts}
}

// ErrInvalidCondition wraps every problem Raise finds in a condition.
var ErrInvalidCondition = errors.New("invalid alert condition")

func (c Condition) validate() error {
	var errs []string
	if strings.TrimSpace(c.Key) == "" {
		errs = append(errs, "key is empty")
	}
	if strings.TrimSpace(c.Kind) == "" {
		errs = append(errs, "kind is empty")
	}
	if !c.Severity.Valid() {
		errs = append(errs, fmt.Sprintf("severity %q is not one of critical, high, medium, low", c.Severity))
	}
	if strings.TrimSpace(c.Title) == "" {
		errs = append(errs, "title is empty")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w %q: %s", ErrInvalidCondition, c.Key, strings.Join(errs, "; "))
	}
	return nil
}

// Raise records that c holds. A new alert is notified and remediated after
// the matrix; an open alert with the same key is only updated (its Count
// and LastSeen bumped). The error is non-nil only when the alert could not
// be stored: notification and remediation failures are logged and
// recorded on the alert (NotifyError, Remediation) instead.
func (m *Manager) Raise(ctx context.Context, c Condition) (a metastore.Alert, created bool, err error) {
	if err := c.validate(); err != nil {
		return metastore.Alert{}, false, err
	}
	at := m.opts.Now()
	in := metastore.Alert{Key: c.Key, Kind: c.Kind, Severity: string(c.Severity), Title: c.Title, Detail: c.Detail,
		Source: c.Source, Dataset: c.Dataset, RunID: c.RunID, FirstSeen: at, LastSeen: at}
	if !c.Since.IsZero() {
		since := c.Since
		in.ConditionAt = &since
	}
	if len(c.Details) > 0 {
		in.Details, _ = json.Marshal(c.Details) // a map of strings always marshals
	}
	a, created, err = m.store.RaiseAlert(ctx, in)
	if err != nil {
		return metastore.Alert{}, false, err
	}
	if created {
		// Remediate first, so that the notification says what was done.
		a = m.remediate(ctx, a)
		a = m.deliver(ctx, a)
	}
	return a, created, nil
}

// Ack acknowledges the alert with ID idOrKey, or the open alert with that
// key, and notifies the change. changed is false when it was acknowledged
// already. A resolved alert returns metastore.ErrAlertResolved, an unknown
// one metastore.ErrNotFound (both wrapped).
func (m *Manager) Ack(ctx context.Context, idOrKey, by string) (a metastore.Alert, changed bool, err error) {
	id, err := m.lookup(ctx, idOrKey)
	if err != nil {
		return metastore.Alert{}, false, err
	}
	a, changed, err = m.store.AckAlert(ctx, id, by, m.opts.Now())
	if err != nil || !changed {
		return a, false, err
	}
	return m.deliver(ctx, a), true, nil
}

// Resolve resolves the alert with ID idOrKey, or the open alert with that
// key, and notifies the change. changed is false when it was resolved
// already. An unknown alert returns metastore.ErrNotFound (wrapped).
func (m *Manager) Resolve(ctx context.Context, idOrKey, by string) (a metastore.Alert, changed bool, err error) {
	id, err := m.lookup(ctx, idOrKey)
	if err != nil {
		return metastore.Alert{}, false, err
	}
	return m.resolve(ctx, id, by)
}

func (m *Manager) resolve(ctx context.Context, id, by string) (metastore.Alert, bool, error) {
	a, changed, err := m.store.ResolveAlert(ctx, id, by, m.opts.Now())
	if err != nil || !changed {
		return a, false, err
	}
	return m.deliver(ctx, a), true, nil
}

// lookup finds the alert an ID or a key names: an ID first, then the open
// alert with that key.
func (m *Manager) lookup(ctx context.Context, idOrKey string) (string, error) {
	a, err := m.store.GetAlert(ctx, idOrKey)
	if err == nil {
		return a.ID, nil
	}
	if !errors.Is(err, metastore.ErrNotFound) {
		return "", err
	}
	open, lerr := m.store.ListAlerts(ctx, metastore.AlertFilter{Key: idOrKey, State: metastore.AlertOpen, Limit: 1})
	if lerr != nil {
		return "", lerr
	}
	if len(open) == 0 {
		return "", fmt.Errorf("no alert has ID %q, and no open alert has it as key (see bedrot alerts ls --state all): %w", idOrKey, metastore.ErrNotFound)
	}
	return open[0].ID, nil
}

// Reconciled is what Reconcile did.
type Reconciled struct {
	// Opened are the alerts raised for the first time (notified and
	// remediated); Updated the open ones seen again; Resolved those whose
	// condition cleared.
	Opened, Updated, Resolved []metastore.Alert
}

// Reconcile makes the open alerts of kind match firing, the conditions of
// that kind a detector found: each is raised, and every open alert of the
// kind whose key is not among them is resolved by metastore.ResolvedByAuto.
// A condition with an empty Kind takes kind. Pass the complete result of a
// detector: a condition missing from firing counts as cleared. It goes on
// past failures and returns them joined. Reconcile covers the keys that
// start with "<kind>:"; ReconcileKeys lets a second detector of the same
// kind keep keys of its own.
func (m *Manager) Reconcile(ctx context.Context, kind string, firing []Condition) (Reconciled, error) {
	return m.ReconcileKeys(ctx, kind, kind+":", firing)
}

// ReconcileKeys is Reconcile over the alerts of kind whose key starts with
// prefix: the scrub (DamageKeyPrefix) and the data loss check raise alerts
// of one kind, and neither resolves the other's.
func (m *Manager) ReconcileKeys(ctx context.Context, kind, prefix string, firing []Condition) (Reconciled, error) {
	var (
		out  Reconciled
		errs []error
		keys = map[string]bool{}
	)
	if kind == "" || prefix == "" {
		return out, errors.New("failed to reconcile alerts: empty kind or key prefix")
	}
	for _, c := range firing {
		if c.Kind == "" {
			c.Kind = kind
		}
		if c.Kind != kind {
			errs = append(errs, fmt.Errorf("condition %q is of kind %q, not %q", c.Key, c.Kind, kind))
			continue
		}
		if !strings.HasPrefix(c.Key, prefix) {
			errs = append(errs, fmt.Errorf("condition %q does not have the key prefix %q", c.Key, prefix))
			continue
		}
		keys[c.Key] = true
		a, created, err := m.Raise(ctx, c)
		switch {
		case err != nil:
			errs = append(errs, err)
		case created:
			out.Opened = append(out.Opened, a)
		default:
			out.Updated = append(out.Updated, a)
		}
	}
	open, err := m.store.ListAlerts(ctx, metastore.AlertFilter{Kind: kind, State: metastore.AlertOpen, Limit: -1})
	if err != nil {
		errs = append(errs, err)
		return out, fmt.Errorf("failed to reconcile %s alerts: %w", kind, errors.Join(errs...))
	}
	for _, a := range open {
		if keys[a.Key] || !strings.HasPrefix(a.Key, prefix) {
			continue
		}
		got, changed, err := m.resolve(ctx, a.ID, metastore.ResolvedByAuto)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if changed {
			out.Resolved = append(out.Resolved, got)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("failed to reconcile %s alerts: %w", kind, errors.Join(errs...))
	}
	return out, nil
}

// deliver notifies a's current state and records the outcome on it.
func (m *Manager) deliver(ctx context.Context, a metastore.Alert) metastore.Alert {
	if m.opts.Notifier == nil {
		return a
	}
	at := m.opts.Now()
	errText := ""
	if err := m.opts.Notifier.Notify(ctx, ToNotify(a)); err != nil {
		errText = err.Error()
		m.opts.Logger.ErrorContext(ctx, "alert notification failed; the alert is kept", "alert_id", a.ID, "key", a.Key,
			"severity", a.Severity, "state", a.State, "error", errText)
	}
	if err := m.store.MarkAlertNotified(ctx, a.ID, at, errText); err != nil {
		m.opts.Logger.ErrorContext(ctx, "failed to record an alert notification", "alert_id", a.ID, "error", err.Error())
		return a
	}
	if errText == "" {
		t := at.UTC().Truncate(time.Microsecond)
		a.NotifiedAt, a.NotifyError = &t, ""
	} else {
		a.NotifyError = errText
	}
	return a
}

// remediate applies the matrix's remediation for a new alert and records
// what was done on it.
func (m *Manager) remediate(ctx context.Context, a metastore.Alert) metastore.Alert {
	var did string
	switch a.Severity {
	case metastore.SeverityCritical:
		if m.opts.Remediator == nil {
			return a
		}
		what := "the pipeline"
		if a.Source != "" {
			what = a.Source
		}
		reason := a.Title
		if a.Detail != "" {
			reason += ": " + firstLine(a.Detail)
		}
		if err := m.opts.Remediator.Pause(ctx, a.Source, reason); err != nil {
			did = fmt.Sprintf("failed to pause %s: %v", what, err)
		} else {
			did = "paused " + what
		}
	case metastore.SeverityHigh:
		if m.opts.Remediator == nil {
			return a
		}
		if a.Source == "" {
			did = "no retry: the alert names no source"
		} else if err := m.opts.Remediator.Retry(ctx, a.Source, RetryAttempts); err != nil {
			did = fmt.Sprintf("failed to request a retry of %s: %v", a.Source, err)
		} else {
			did = fmt.Sprintf("retry of %s requested (%d attempts)", a.Source, RetryAttempts)
		}
	case metastore.SeverityMedium:
		m.opts.Logger.WarnContext(ctx, "data quality warning logged for review", "alert_id", a.ID, "key", a.Key,
			"title", a.Title, "detail", a.Detail, "dataset", a.Dataset, "source", a.Source)
		did = "logged for review"
	default: // low: dashboard only
		return a
	}
	if strings.HasPrefix(did, "failed") {
		m.opts.Logger.ErrorContext(ctx, "alert remediation failed", "alert_id", a.ID, "key", a.Key, "remediation", did)
	}
	if err := m.store.SetAlertRemediation(ctx, a.ID, did); err != nil {
		m.opts.Logger.ErrorContext(ctx, "failed to record an alert remediation", "alert_id", a.ID, "error", err.Error())
		return a
	}
	a.Remediation = did
	return a
}

// ToNotify converts a stored alert to what notifiers send. The ID is the
// alert's key, so that every event of the condition folds into one
// incident; the stored ID, the count and who acknowledged or resolved it
// are among the details.
func ToNotify(a metastore.Alert) notify.Alert {
	n := notify.Alert{ID: a.Key, Kind: a.Kind, Severity: notify.Severity(a.Severity), State: notify.State(a.State),
		Title: a.Title, Detail: a.Detail, Source: a.Source, Dataset: a.Dataset, RunID: a.RunID,
		StartedAt: a.FirstSeen, UpdatedAt: a.LastSeen, Details: map[string]string{}}
	for _, t := range []*time.Time{a.AckedAt, a.ResolvedAt} {
		if t != nil && t.After(n.UpdatedAt) {
			n.UpdatedAt = *t
		}
	}
	var extra map[string]any
	if len(a.Details) > 0 && json.Unmarshal(a.Details, &extra) == nil {
		for k, v := range extra {
			switch v := v.(type) {
			case string:
				n.Details[k] = v
			default:
				b, _ := json.Marshal(v)
				n.Details[k] = string(b)
			}
		}
	}
	n.Details["alert_id"] = a.ID
	n.Details["count"] = strconv.Itoa(a.Count)
	if a.AckedBy != "" {
		n.Details["acknowledged_by"] = a.AckedBy
	}
	if a.ResolvedBy != "" {
		n.Details["resolved_by"] = a.ResolvedBy
	}
	if a.Remediation != "" {
		n.Details["remediation"] = a.Remediation
	}
	return n
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
