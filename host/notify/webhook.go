package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers. The signature is "sha256=" followed by the lower-case
// hex HMAC-SHA256, keyed with the configured secret, of
//
//	<X-Bedrot-Timestamp value> + "." + <request body>
//
// A receiver recomputes it over the raw body, compares in constant time and
// rejects timestamps older than a few minutes (replay protection).
const (
	HeaderEvent     = "X-Bedrot-Event"
	HeaderAlertID   = "X-Bedrot-Alert-Id"
	HeaderTimestamp = "X-Bedrot-Timestamp"
	HeaderSignature = "X-Bedrot-Signature"
)

// WebhookVersion is the version of the webhook body below.
const WebhookVersion = 1

// WebhookPayload is the JSON body the webhook notifier POSTs:
//
//	{
//	  "version": 1,
//	  "event": "alert.firing",            // alert.firing | alert.acknowledged | alert.resolved
//	  "sent_at": "2026-05-01T10:00:00Z",  // RFC 3339, UTC
//	  "text": "[CRITICAL] Checksum mismatch (spotify · raw/spotify/streams)",
//	  "alert": {
//	    "id": "data_loss/raw/spotify/streams", "kind": "data_loss",
//	    "severity": "critical", "state": "firing",
//	    "title": "...", "detail": "...",
//	    "source": "spotify", "dataset": "raw/spotify/streams", "run_id": "...",
//	    "started_at": "...", "updated_at": "...",
//	    "links": [{"name": "Run", "url": "..."}],
//	    "details": {"key": "value"}
//	  }
//	}
//
// "text" is a one-line summary of at most 160 characters, ready for an SMS
// gateway. Empty optional alert fields are left out.
type WebhookPayload struct {
	Version int       `json:"version"`
	Event   string    `json:"event"`
	SentAt  time.Time `json:"sent_at"`
	Text    string    `json:"text"`
	Alert   Alert     `json:"alert"`
}

// SMSLength is the longest WebhookPayload.Text.
const SMSLength = 160

// WebhookConfig configures a generic JSON webhook.
type WebhookConfig struct {
	URL string // secret: may carry a token
	// Secret, when set, signs each request (X-Bedrot-Signature).
	Secret string
	// Headers are sent with every request, e.g. an Authorization header for
	// an SMS gateway. Their values are treated as secrets.
	Headers map[string]string
	Timeout time.Duration
}

// Webhook POSTs alerts as JSON to a URL.
type Webhook struct {
	cfg    WebhookConfig
	client *http.Client
	red    redactor
	now    func() time.Time
}

// NewWebhook checks cfg and returns the notifier.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	if err := validateURL("url", cfg.URL); err != nil {
		return nil, fmt.Errorf("webhook: %w", err)
	}
	for k := range cfg.Headers {
		if http.CanonicalHeaderKey(k) == "Content-Type" || http.CanonicalHeaderKey(k) == HeaderSignature {
			return nil, fmt.Errorf("webhook: headers: %q is set by the notifier and cannot be configured", k)
		}
	}
	w := &Webhook{cfg: cfg, client: newHTTPClient(cfg.Timeout), now: time.Now}
	w.red = w.secrets()
	return w, nil
}

func (w *Webhook) secrets() redactor {
	r := newRedactor(w.cfg.Secret)
	r.addURL(w.cfg.URL)
	for _, v := range w.cfg.Headers {
		r.add(v)
	}
	return r
}

// Sign returns the X-Bedrot-Signature value for body sent at timestamp ts
// (the X-Bedrot-Timestamp value). Receivers can use it to verify requests.
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Notify POSTs a WebhookPayload. Any 2xx answer is success.
func (w *Webhook) Notify(ctx context.Context, a Alert) error {
	if err := a.Validate(); err != nil {
		return err
	}
	now := w.now().UTC()
	p := WebhookPayload{
		Version: WebhookVersion,
		Event:   "alert." + string(a.State),
		SentAt:  now.Truncate(time.Second),
		Text:    truncate(a.summary(), SMSLength),
		Alert:   a,
	}
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("webhook: encoding alert %q: %w", a.ID, err)
	}
	h := http.Header{}
	for k, v := range w.cfg.Headers {
		h.Set(k, v)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderEvent, p.Event)
	h.Set(HeaderAlertID, a.ID)
	h.Set(HeaderTimestamp, ts)
	if w.cfg.Secret != "" {
		h.Set(HeaderSignature, Sign(w.cfg.Secret, ts, body))
	}
	ans, err := postJSON(ctx, w.client, w.cfg.URL, body, h, w.red, "the webhook")
	if err != nil {
		return err
	}
	if ans.status/100 == 2 {
		return nil
	}
	hint := ""
	switch ans.status {
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = "check the webhook secret and headers in the alerting configuration"
	case http.StatusNotFound, http.StatusGone:
		hint = "check the webhook url in the alerting configuration"
	}
	return statusError("the webhook at "+endpointName(w.cfg.URL), ans, hint)
}

var _ Notifier = (*Webhook)(nil)
