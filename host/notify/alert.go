// Package notify delivers BEDROT alerts to people: a generic JSON webhook
// (signed with HMAC-SHA256 when a secret is configured), a Slack incoming
// webhook, e-mail over SMTP and the PagerDuty Events API v2. A Router sends
// each alert to the notifiers configured for its severity, retrying
// transient failures with bounded exponential backoff; one notifier failing
// never stops the others.
//
// SMS has no notifier of its own: page by SMS through PagerDuty (its
// notification rules text the on-call person) or point a webhook notifier
// at an SMS gateway — the webhook body carries a one-line "text" field of
// at most 160 characters for exactly that purpose.
//
// Secrets — webhook URLs (Slack's carry a token in the path), webhook HMAC
// secrets and header values, SMTP passwords, PagerDuty routing keys — never
// appear in errors or log lines: endpoints are named by scheme and host
// only, and every message is scrubbed of the configured secret values.
package notify

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Severity is how urgent an alert is; it selects the notifiers.
type Severity string

// The severities of the alerting matrix (DESIGN.md, issue 6).
const (
	// Critical: data loss detected (e.g. a checksum mismatch). Pages someone.
	Critical Severity = "critical"
	// High: a run failed after its retries.
	High Severity = "high"
	// Medium: a data quality warning.
	Medium Severity = "medium"
	// Low: performance degradation; usually dashboard only.
	Low Severity = "low"
)

// Severities lists every severity, most urgent first.
func Severities() []Severity { return []Severity{Critical, High, Medium, Low} }

// Valid reports whether s is one of the four severities.
func (s Severity) Valid() bool {
	switch s {
	case Critical, High, Medium, Low:
		return true
	}
	return false
}

// State is where an alert is in its lifecycle.
type State string

// The alert lifecycle: firing → acknowledged → resolved.
const (
	Firing       State = "firing"
	Acknowledged State = "acknowledged"
	Resolved     State = "resolved"
)

// Valid reports whether s is one of the three states.
func (s State) Valid() bool {
	switch s {
	case Firing, Acknowledged, Resolved:
		return true
	}
	return false
}

// Link points a reader at more context: the run, the data docs, a dashboard.
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Alert is one alert as the notifiers see it. ID is the de-duplication key:
// the same condition keeps the same ID through firing, acknowledged and
// resolved, so PagerDuty folds the events into one incident.
type Alert struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind,omitempty"` // condition, e.g. "data_loss", "run_failed"
	Severity Severity `json:"severity"`
	State    State    `json:"state"`
	Title    string   `json:"title"`
	Detail   string   `json:"detail,omitempty"`
	Source   string   `json:"source,omitempty"`  // the pipeline source, e.g. "spotify"
	Dataset  string   `json:"dataset,omitempty"` // the dataset root, e.g. "raw/spotify/streams"
	RunID    string   `json:"run_id,omitempty"`
	// StartedAt is when the condition was first detected; UpdatedAt when the
	// alert last changed (state, detail).
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Links     []Link    `json:"links,omitempty"`
	// Details are extra key/value facts (counts, paths, durations).
	Details map[string]string `json:"details,omitempty"`
}

// ErrInvalidAlert wraps every problem Validate finds.
var ErrInvalidAlert = errors.New("invalid alert")

// Validate checks the fields every notifier relies on.
func (a Alert) Validate() error {
	var errs []error
	if strings.TrimSpace(a.ID) == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if !a.Severity.Valid() {
		errs = append(errs, fmt.Errorf("severity %q is not one of critical, high, medium, low", a.Severity))
	}
	if !a.State.Valid() {
		errs = append(errs, fmt.Errorf("state %q is not one of firing, acknowledged, resolved", a.State))
	}
	if strings.TrimSpace(a.Title) == "" {
		errs = append(errs, errors.New("title is empty"))
	}
	if a.StartedAt.IsZero() {
		errs = append(errs, errors.New("started_at is not set"))
	}
	for i, l := range a.Links {
		if l.URL == "" {
			errs = append(errs, fmt.Errorf("links[%d] (%q) has no url", i, l.Name))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w %q: %w", ErrInvalidAlert, a.ID, errors.Join(errs...))
	}
	return nil
}

// updated is UpdatedAt, or StartedAt when UpdatedAt is not set.
func (a Alert) updated() time.Time {
	if a.UpdatedAt.IsZero() {
		return a.StartedAt
	}
	return a.UpdatedAt
}

// where names the source and dataset, e.g. "spotify · raw/spotify/streams".
func (a Alert) where() string {
	switch {
	case a.Source != "" && a.Dataset != "":
		return a.Source + " · " + a.Dataset
	case a.Source != "":
		return a.Source
	default:
		return a.Dataset
	}
}

// summary is a one-line description: "[CRITICAL] Title (spotify · raw/…)",
// prefixed with the state when the alert is no longer firing.
func (a Alert) summary() string {
	var b strings.Builder
	b.WriteString("[" + strings.ToUpper(string(a.Severity)) + "] ")
	if a.State != Firing && a.State != "" {
		b.WriteString(strings.ToUpper(string(a.State)) + ": ")
	}
	b.WriteString(oneLine(a.Title))
	if w := a.where(); w != "" {
		b.WriteString(" (" + w + ")")
	}
	return b.String()
}

// oneLine folds line breaks and runs of spaces into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate shortens s to at most n runes, ending with "…" when cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
