package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// DefaultPagerDutyEndpoint is the Events API v2 enqueue URL.
const DefaultPagerDutyEndpoint = "https://events.pagerduty.com/v2/enqueue"

// PagerDutyConfig configures the PagerDuty Events API v2
// (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
type PagerDutyConfig struct {
	RoutingKey string // secret: the integration key of the PagerDuty service
	Endpoint   string // default DefaultPagerDutyEndpoint
	// Source is payload.source when the alert has no Source (default "bedrot").
	Source string
	// Group is payload.group (default "bedrot").
	Group string
	// ClientURL, when set, is client_url: a link back to BEDROT (the daemon UI).
	ClientURL string
	Timeout   time.Duration
}

// PagerDuty sends alerts as Events API v2 events: firing → "trigger",
// acknowledged → "acknowledge", resolved → "resolve", all with
// dedup_key = the alert ID so they act on one incident.
//
// A trigger event carries
//
//	payload.summary        "[CRITICAL] Title (source · dataset)", ≤ 1024 chars
//	payload.source         alert Source, else the configured source ("bedrot")
//	payload.severity       critical→critical, high→error, medium→warning, low→info
//	payload.timestamp      alert StartedAt, RFC 3339
//	payload.component      alert Dataset
//	payload.group          configured group ("bedrot")
//	payload.class          alert Kind
//	payload.custom_details detail, run_id, source, dataset, state, times, Details
//	links                  alert Links as {href, text}
//	client, client_url     "BEDROT Data Lake", configured ClientURL
//
// Acknowledge and resolve events carry only routing_key, event_action and
// dedup_key, as the API asks.
type PagerDuty struct {
	cfg    PagerDutyConfig
	client *http.Client
	red    redactor
}

// NewPagerDuty checks cfg and returns the notifier.
func NewPagerDuty(cfg PagerDutyConfig) (*PagerDuty, error) {
	if cfg.Endpoint == "" {
		cfg.Endpoint = DefaultPagerDutyEndpoint
	}
	if cfg.Source == "" {
		cfg.Source = "bedrot"
	}
	if cfg.Group == "" {
		cfg.Group = "bedrot"
	}
	if strings.TrimSpace(cfg.RoutingKey) == "" {
		return nil, fmt.Errorf("pagerduty: routing_key is not set (the integration key of an Events API v2 integration on the PagerDuty service)")
	}
	if err := validateURL("endpoint", cfg.Endpoint); err != nil {
		return nil, fmt.Errorf("pagerduty: %w", err)
	}
	if cfg.ClientURL != "" {
		if err := validateURL("client_url", cfg.ClientURL); err != nil {
			return nil, fmt.Errorf("pagerduty: %w", err)
		}
	}
	r := newRedactor(cfg.RoutingKey)
	return &PagerDuty{cfg: cfg, client: newHTTPClient(cfg.Timeout), red: r}, nil
}

// PagerDutySeverity maps a BEDROT severity to the Events API's.
func PagerDutySeverity(s Severity) string {
	switch s {
	case Critical:
		return "critical"
	case High:
		return "error"
	case Medium:
		return "warning"
	default:
		return "info"
	}
}

// PagerDutyEvent is the body posted to the Events API v2.
type PagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *PagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
	Links       []PagerDutyLink   `json:"links,omitempty"`
}

// PagerDutyPayload is the payload object of a trigger event.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

// PagerDutyLink is one entry of a trigger event's links.
type PagerDutyLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

// pagerDutyMaxDedupKey is the API's limit on dedup_key.
const pagerDutyMaxDedupKey = 255

func (p *PagerDuty) event(a Alert) (PagerDutyEvent, error) {
	if len(a.ID) > pagerDutyMaxDedupKey {
		return PagerDutyEvent{}, fmt.Errorf("pagerduty: alert id %q is longer than PagerDuty's %d-character dedup_key limit", truncate(a.ID, 60), pagerDutyMaxDedupKey)
	}
	ev := PagerDutyEvent{RoutingKey: p.cfg.RoutingKey, DedupKey: a.ID}
	switch a.State {
	case Acknowledged:
		ev.EventAction = "acknowledge"
		return ev, nil
	case Resolved:
		ev.EventAction = "resolve"
		return ev, nil
	}
	ev.EventAction = "trigger"
	ev.Client = "BEDROT Data Lake"
	ev.ClientURL = p.cfg.ClientURL
	source := a.Source
	if source == "" {
		source = p.cfg.Source
	}
	details := map[string]any{
		"alert_id":   a.ID,
		"state":      string(a.State),
		"started_at": a.StartedAt.UTC().Format(time.RFC3339),
		"updated_at": a.updated().UTC().Format(time.RFC3339),
	}
	for k, v := range map[string]string{"detail": a.Detail, "run_id": a.RunID, "source": a.Source, "dataset": a.Dataset} {
		if v != "" {
			details[k] = v
		}
	}
	keys := make([]string, 0, len(a.Details))
	for k := range a.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, taken := details[k]; !taken {
			details[k] = a.Details[k]
		}
	}
	ev.Payload = &PagerDutyPayload{
		Summary:       truncate(a.summary(), 1024),
		Source:        source,
		Severity:      PagerDutySeverity(a.Severity),
		Timestamp:     a.StartedAt.UTC().Format(time.RFC3339),
		Component:     a.Dataset,
		Group:         p.cfg.Group,
		Class:         a.Kind,
		CustomDetails: details,
	}
	for _, l := range a.Links {
		ev.Links = append(ev.Links, PagerDutyLink{Href: l.URL, Text: l.Name})
	}
	return ev, nil
}

// Notify sends the event. PagerDuty answers 202 Accepted.
func (p *PagerDuty) Notify(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	ev, err := p.event(a)
	if err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("pagerduty: encoding alert %q: %w", a.ID, err)
	}
	ans, err := postJSON(ctx, p.client, p.cfg.Endpoint, body, nil, p.red, "PagerDuty")
	if err != nil {
		return err
	}
	if ans.status/100 == 2 {
		return nil
	}
	hint := ""
	switch ans.status {
	case http.StatusBadRequest:
		hint = "PagerDuty rejected the event; if it names the routing key, check routing_key in the alerting configuration (an Events API v2 integration key)"
	case http.StatusTooManyRequests:
		hint = "PagerDuty is rate-limiting this integration; will retry"
	}
	return statusError("PagerDuty", ans, hint)
}

var _ Notifier = (*PagerDuty)(nil)
