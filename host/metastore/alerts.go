package metastore

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Alert states: the lifecycle firing → acknowledged → resolved. An alert
// that is not resolved is open.
const (
	AlertFiring       = "firing"
	AlertAcknowledged = "acknowledged"
	AlertResolved     = "resolved"
	// AlertOpen is not a state but an AlertFilter value: firing or
	// acknowledged.
	AlertOpen = "open"
)

// Alert severities, the rows of the alerting matrix (DESIGN.md, issue 6).
const (
	SeverityCritical = "critical"
	SeverityHigh     = "high"
	SeverityMedium   = "medium"
	SeverityLow      = "low"
)

// ResolvedByAuto is ResolvedBy for an alert resolved because its condition
// cleared.
const ResolvedByAuto = "auto"

// ErrAlertResolved is returned (wrapped) when acknowledging an alert that
// is already resolved: raising the condition again opens a new alert.
var ErrAlertResolved = errors.New("alert is already resolved")

// Alert is one occurrence of an alert condition, from first detection to
// resolution. While it is open, detecting the same condition again (same
// Key) updates this alert instead of opening another.
type Alert struct {
	// ID identifies this occurrence; RaiseAlert assigns it.
	ID string `json:"id"`
	// Key is the de-duplication key naming the condition, e.g.
	// "run_failed:spotify". At most one open alert has a given key.
	Key string `json:"key"`
	// Kind is the condition's kind: "data_loss", "run_failed", "quality",
	// "slow_run".
	Kind     string `json:"kind"`
	Severity string `json:"severity"` // critical, high, medium, low
	State    string `json:"state"`    // firing, acknowledged, resolved
	Title    string `json:"title"`
	Detail   string `json:"detail,omitempty"`
	Source   string `json:"source,omitempty"`  // the pipeline source, if one is concerned
	Dataset  string `json:"dataset,omitempty"` // the dataset, if one is concerned
	RunID    string `json:"run_id,omitempty"`  // the run that showed the condition, if any
	// FirstSeen is when the alert was raised; LastSeen when the condition
	// was last seen while the alert was open.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// ConditionAt is when the condition began, when the detector knows
	// (e.g. the failing run's finish); time to detect is FirstSeen minus it.
	ConditionAt *time.Time `json:"condition_at,omitempty"`
	// Count is how many times the condition was raised while the alert was
	// open (1 when first raised).
	Count      int        `json:"count"`
	AckedAt    *time.Time `json:"acked_at,omitempty"`
	AckedBy    string     `json:"acked_by,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// ResolvedBy is the user who resolved the alert, or ResolvedByAuto.
	ResolvedBy string `json:"resolved_by,omitempty"`
	// NotifiedAt is when notifiers last accepted a notification of the
	// alert; NotifyError is the last notification failure ("" after a
	// success).
	NotifiedAt  *time.Time `json:"notified_at,omitempty"`
	NotifyError string     `json:"notify_error,omitempty"`
	// Remediation says what was done about the alert automatically
	// ("paused spotify", "retry requested (3 attempts)", ...).
	Remediation string `json:"remediation,omitempty"`
	// Details is free-form JSON (counts, keys, durations).
	Details json.RawMessage `json:"details,omitempty"`
}

// Open reports whether the alert is not resolved.
func (a Alert) Open() bool { return a.State != AlertResolved }

// AlertFilter selects alerts for ListAlerts. Empty fields match all.
type AlertFilter struct {
	// State is firing, acknowledged, resolved, or AlertOpen (firing or
	// acknowledged).
	State    string
	Severity string
	Source   string
	Kind     string
	Key      string
	// Since keeps alerts last seen at or after it.
	Since time.Time
	// Limit caps the result: 0 means 100, a negative value no limit.
	Limit int
}

// AlertStore keeps alerts and their lifecycle. Implementations are safe for
// concurrent use, across processes sharing the metastore too.
type AlertStore interface {
	// RaiseAlert records that a.Key's condition holds. If an open alert
	// has the key, it is updated — Count+1, LastSeen, Title, Detail,
	// Details and RunID (when set) — and returned with created false; its
	// state, severity, FirstSeen and ConditionAt stay. Otherwise a new
	// alert is opened in state firing with Count 1 and returned with
	// created true. Key, Kind, Title and a valid Severity are required; a
	// zero FirstSeen/LastSeen becomes now. Concurrent raises of one key
	// open exactly one alert.
	RaiseAlert(ctx context.Context, a Alert) (alert Alert, created bool, err error)
	// AckAlert moves a firing alert to acknowledged (a zero at becomes
	// now). Acknowledging an acknowledged alert changes nothing (changed is
	// false); a resolved one returns ErrAlertResolved, an unknown id
	// ErrNotFound (both wrapped).
	AckAlert(ctx context.Context, id, by string, at time.Time) (alert Alert, changed bool, err error)
	// ResolveAlert resolves an open alert (a zero at becomes now); by is a
	// user or ResolvedByAuto. Resolving a resolved alert changes nothing;
	// an unknown id returns ErrNotFound (wrapped).
	ResolveAlert(ctx context.Context, id, by string, at time.Time) (alert Alert, changed bool, err error)
	// GetAlert returns ErrNotFound (wrapped) for an unknown id.
	GetAlert(ctx context.Context, id string) (Alert, error)
	// ListAlerts returns alerts last seen newest first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// OpenAlertCounts counts open alerts by severity; severities without
	// open alerts are absent.
	OpenAlertCounts(ctx context.Context) (map[string]int, error)
	// MarkAlertNotified records a notification attempt: with errText ""
	// it sets NotifiedAt to at and clears NotifyError, otherwise it sets
	// NotifyError and keeps NotifiedAt. An unknown id returns ErrNotFound.
	MarkAlertNotified(ctx context.Context, id string, at time.Time, errText string) error
	// SetAlertRemediation records what was done about an alert
	// automatically. An unknown id returns ErrNotFound (wrapped).
	SetAlertRemediation(ctx context.Context, id, remediation string) error
}

// ValidAlertSeverity reports whether s is critical, high, medium or low.
func ValidAlertSeverity(s string) bool {
	switch s {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow:
		return true
	}
	return false
}

// ValidAlertState reports whether s is firing, acknowledged or resolved.
func ValidAlertState(s string) bool {
	switch s {
	case AlertFiring, AlertAcknowledged, AlertResolved:
		return true
	}
	return false
}
