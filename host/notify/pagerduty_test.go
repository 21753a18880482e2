package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/notify"
)

const routingKey = "R0UTINGKEYSENTINEL0123456789abcd"

func newPD(t *testing.T, srv *fakeHTTP) *notify.PagerDuty {
	t.Helper()
	p, err := notify.NewPagerDuty(notify.PagerDutyConfig{RoutingKey: routingKey, Endpoint: srv.URL + "/v2/enqueue", ClientURL: "http://bedrot.local/"})
	require.NoError(t, err)
	return p
}

const pdAccepted = `{"status":"success","message":"Event processed","dedup_key":"x"}`

func TestPagerDutyTriggerEvent(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusAccepted, body: pdAccepted})
	require.NoError(t, newPD(t, srv).Notify(context.Background(), sampleAlert()))

	h := srv.Hits()[0]
	require.Equal(t, http.MethodPost, h.Method)
	require.Equal(t, "/v2/enqueue", h.Path)
	require.Equal(t, "application/json", h.Header.Get("Content-Type"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(h.Body, &got))
	require.Equal(t, map[string]any{
		"routing_key":  routingKey,
		"event_action": "trigger",
		"dedup_key":    "data_loss/raw/spotify/streams",
		"client":       "BEDROT Data Lake",
		"client_url":   "http://bedrot.local/",
		"payload": map[string]any{
			"summary":   "[CRITICAL] Checksum mismatch in raw/spotify/streams (spotify · raw/spotify/streams)",
			"source":    "spotify",
			"severity":  "critical",
			"timestamp": "2026-05-01T10:00:00Z",
			"component": "raw/spotify/streams",
			"group":     "bedrot",
			"class":     "data_loss",
			"custom_details": map[string]any{
				"alert_id":   "data_loss/raw/spotify/streams",
				"state":      "firing",
				"detail":     "part-0001.parquet: manifest sha256 ab12 <> storage sha256 cd34 & more",
				"run_id":     "run-42",
				"source":     "spotify",
				"dataset":    "raw/spotify/streams",
				"started_at": "2026-05-01T10:00:00Z",
				"updated_at": "2026-05-01T10:05:00Z",
				"files":      "1",
			},
		},
		"links": []any{
			map[string]any{"href": "http://bedrot.local/runs/run-42", "text": "Run"},
			map[string]any{"href": "http://bedrot.local/docs/raw/spotify/streams?a=1&b=2", "text": "Data docs"},
		},
	}, got)
}

func TestPagerDutySeverityMappingAndDefaults(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusAccepted, body: pdAccepted})
	p := newPD(t, srv)
	want := map[notify.Severity]string{notify.Critical: "critical", notify.High: "error", notify.Medium: "warning", notify.Low: "info"}
	for i, sev := range notify.Severities() {
		a := sampleAlert()
		a.Severity = sev
		a.Source = "" // falls back to the configured source
		require.NoError(t, p.Notify(context.Background(), a))
		var got notify.PagerDutyEvent
		require.NoError(t, json.Unmarshal(srv.Hits()[i].Body, &got))
		require.Equal(t, want[sev], got.Payload.Severity)
		require.Equal(t, want[sev], notify.PagerDutySeverity(sev))
		require.Equal(t, "bedrot", got.Payload.Source)
	}
}

func TestPagerDutyAcknowledgeAndResolveCarryOnlyTheKeys(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusAccepted, body: pdAccepted})
	p := newPD(t, srv)
	for i, c := range []struct {
		state  notify.State
		action string
	}{{notify.Acknowledged, "acknowledge"}, {notify.Resolved, "resolve"}} {
		a := sampleAlert()
		a.State = c.state
		require.NoError(t, p.Notify(context.Background(), a))
		var got map[string]any
		require.NoError(t, json.Unmarshal(srv.Hits()[i].Body, &got))
		require.Equal(t, map[string]any{"routing_key": routingKey, "event_action": c.action, "dedup_key": a.ID}, got)
	}
}

func TestPagerDutyRateLimitIsRetriedAfterRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t,
		reply{status: http.StatusTooManyRequests, body: `{"status":"throttle event"}`, header: map[string]string{"Retry-After": "0"}},
		reply{status: http.StatusAccepted, body: pdAccepted})
	p := notify.WithRetry(newPD(t, srv), notify.RetryConfig{Attempts: 3, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(t, p.Notify(context.Background(), sampleAlert()))
	require.Len(t, srv.Hits(), 2)
}

func TestPagerDutyBadRequestKeepsTheKeySecret(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusBadRequest,
		body: `{"status":"invalid event","message":"Event object is invalid","errors":["routing_key ` + routingKey + ` is invalid"]}`})
	err := newPD(t, srv).Notify(context.Background(), sampleAlert())
	require.ErrorContains(t, err, "PagerDuty refused the alert: HTTP 400")
	require.ErrorContains(t, err, "Event object is invalid")
	require.ErrorContains(t, err, "check routing_key")
	require.NotContains(t, err.Error(), "SENTINEL")
	require.False(t, notify.IsRetryable(err))
}

func TestPagerDutyConfig(t *testing.T) {
	t.Parallel()
	_, err := notify.NewPagerDuty(notify.PagerDutyConfig{})
	require.ErrorContains(t, err, "routing_key is not set")
	p, err := notify.NewPagerDuty(notify.PagerDutyConfig{RoutingKey: "k"})
	require.NoError(t, err)
	require.NotNil(t, p)
	require.Equal(t, "https://events.pagerduty.com/v2/enqueue", notify.DefaultPagerDutyEndpoint)
}
