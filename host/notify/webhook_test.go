package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/notify"
)

func TestWebhookPostsDocumentedPayloadSigned(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t)
	const secret = "whsec-SENTINEL-9f2"
	w, err := notify.NewWebhook(notify.WebhookConfig{
		URL:     srv.URL + "/hooks/bedrot?token=tok-SENTINEL",
		Secret:  secret,
		Headers: map[string]string{"Authorization": "Bearer gateway-SENTINEL"},
	})
	require.NoError(t, err)
	before := time.Now().Unix()
	require.NoError(t, w.Notify(context.Background(), sampleAlert()))

	hits := srv.Hits()
	require.Len(t, hits, 1)
	h := hits[0]
	require.Equal(t, http.MethodPost, h.Method)
	require.Equal(t, "/hooks/bedrot?token=tok-SENTINEL", h.Path)
	require.Equal(t, "application/json", h.Header.Get("Content-Type"))
	require.Equal(t, "Bearer gateway-SENTINEL", h.Header.Get("Authorization"))
	require.Equal(t, "alert.firing", h.Header.Get(notify.HeaderEvent))
	require.Equal(t, "data_loss/raw/spotify/streams", h.Header.Get(notify.HeaderAlertID))

	ts := h.Header.Get(notify.HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	require.NoError(t, err)
	require.GreaterOrEqual(t, sec, before)
	require.LessOrEqual(t, sec, time.Now().Unix())
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(h.Body)
	require.Equal(t, "sha256="+hex.EncodeToString(mac.Sum(nil)), h.Header.Get(notify.HeaderSignature))
	require.Equal(t, h.Header.Get(notify.HeaderSignature), notify.Sign(secret, ts, h.Body))

	var got map[string]any
	require.NoError(t, json.Unmarshal(h.Body, &got))
	require.ElementsMatch(t, []string{"version", "event", "sent_at", "text", "alert"}, keys(got))
	require.EqualValues(t, 1, got["version"])
	require.Equal(t, "alert.firing", got["event"])
	sentAt, err := time.Parse(time.RFC3339, got["sent_at"].(string))
	require.NoError(t, err)
	require.Equal(t, sec, sentAt.Unix())
	require.Equal(t, "[CRITICAL] Checksum mismatch in raw/spotify/streams (spotify · raw/spotify/streams)", got["text"])
	require.Equal(t, map[string]any{
		"id":         "data_loss/raw/spotify/streams",
		"kind":       "data_loss",
		"severity":   "critical",
		"state":      "firing",
		"title":      "Checksum mismatch in raw/spotify/streams",
		"detail":     "part-0001.parquet: manifest sha256 ab12 <> storage sha256 cd34 & more",
		"source":     "spotify",
		"dataset":    "raw/spotify/streams",
		"run_id":     "run-42",
		"started_at": "2026-05-01T10:00:00Z",
		"updated_at": "2026-05-01T10:05:00Z",
		"links": []any{
			map[string]any{"name": "Run", "url": "http://bedrot.local/runs/run-42"},
			map[string]any{"name": "Data docs", "url": "http://bedrot.local/docs/raw/spotify/streams?a=1&b=2"},
		},
		"details": map[string]any{"files": "1"},
	}, got["alert"])
}

func TestWebhookWithoutSecretIsUnsignedAndOmitsEmptyFields(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusNoContent})
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL})
	require.NoError(t, err)
	a := notify.Alert{ID: "slow/spotify", Severity: notify.Low, State: notify.Resolved, Title: "Run slower than usual",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	require.NoError(t, w.Notify(context.Background(), a))
	h := srv.Hits()[0]
	require.Empty(t, h.Header.Values(notify.HeaderSignature))
	require.Equal(t, "alert.resolved", h.Header.Get(notify.HeaderEvent))
	var got struct {
		Text  string         `json:"text"`
		Alert map[string]any `json:"alert"`
	}
	require.NoError(t, json.Unmarshal(h.Body, &got))
	require.Equal(t, "[LOW] RESOLVED: Run slower than usual", got.Text)
	require.ElementsMatch(t, []string{"id", "severity", "state", "title", "started_at", "updated_at"}, keys(got.Alert))
}

func TestWebhookTextFitsAnSMS(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t)
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL})
	require.NoError(t, err)
	a := sampleAlert()
	a.Title = "Run failed after its retries: " + strings.Repeat("très long message ", 30)
	require.NoError(t, w.Notify(context.Background(), a))
	var got notify.WebhookPayload
	require.NoError(t, json.Unmarshal(srv.Hits()[0].Body, &got))
	require.Len(t, []rune(got.Text), notify.SMSLength)
	require.Equal(t, "…", string([]rune(got.Text)[notify.SMSLength-1:]))
}

func TestWebhookErrorsSayWhatHappened(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{status: http.StatusUnauthorized, body: `{"error":"bad signature"}`})
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL + "/x/SENTINELPATHTOKEN", Secret: "s3cr3t-SENTINEL"})
	require.NoError(t, err)
	err = w.Notify(context.Background(), sampleAlert())
	require.ErrorContains(t, err, "HTTP 401")
	require.ErrorContains(t, err, "bad signature")
	require.ErrorContains(t, err, "check the webhook secret")
	require.NotContains(t, err.Error(), "SENTINEL")
	require.False(t, notify.IsRetryable(err), "a 401 will not pass on retry")
}

func TestWebhookTimeoutIsRetryable(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t, reply{hang: true})
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL + "/tokenSENTINEL", Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	err = w.Notify(context.Background(), sampleAlert())
	require.Error(t, err)
	require.True(t, notify.IsRetryable(err))
	require.ErrorContains(t, err, "did not answer within 50ms")
	require.NotContains(t, err.Error(), "SENTINEL")
}

func TestWebhookRejectsBadConfig(t *testing.T) {
	t.Parallel()
	_, err := notify.NewWebhook(notify.WebhookConfig{URL: "ftp://example.com/SENTINEL"})
	require.ErrorContains(t, err, "url must be an http:// or https:// URL")
	require.NotContains(t, err.Error(), "SENTINEL")
	_, err = notify.NewWebhook(notify.WebhookConfig{URL: "https://example.com", Headers: map[string]string{"x-bedrot-signature": "x"}})
	require.ErrorContains(t, err, "set by the notifier")
	_, err = notify.NewWebhook(notify.WebhookConfig{})
	require.ErrorContains(t, err, "url is not set")
}

func TestNotifiersRejectInvalidAlerts(t *testing.T) {
	t.Parallel()
	srv := newFakeHTTP(t)
	w, err := notify.NewWebhook(notify.WebhookConfig{URL: srv.URL})
	require.NoError(t, err)
	err = w.Notify(context.Background(), notify.Alert{ID: "x", Severity: "urgent", State: notify.Firing})
	require.ErrorIs(t, err, notify.ErrInvalidAlert)
	require.ErrorContains(t, err, `severity "urgent"`)
	require.ErrorContains(t, err, "title is empty")
	require.ErrorContains(t, err, "started_at is not set")
	require.Empty(t, srv.Hits())
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
