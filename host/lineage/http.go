package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultEndpoint is the path of Marquez's lineage API, appended to the
// configured URL.
const DefaultEndpoint = "api/v1/lineage"

// HTTPConfig configures an HTTPEmitter.
type HTTPConfig struct {
	// URL is the server, e.g. http://marquez:5000 (OPENLINEAGE_URL).
	URL string
	// Endpoint is the path under URL; DefaultEndpoint when empty.
	Endpoint string
	// APIKey, if set, is sent as "Authorization: Bearer <key>". It never
	// appears in errors or logs.
	APIKey string
	// Timeout bounds each attempt; 10s when zero.
	Timeout time.Duration
	// Retries is how many times a transient failure (network error, 429,
	// 5xx) is retried; 2 when zero, none when negative.
	Retries int
	// Backoff is the wait before the first retry, doubling after each;
	// 500ms when zero.
	Backoff time.Duration
	// Client sends the requests; a new http.Client when nil.
	Client *http.Client
}

// HTTPEmitter POSTs each event as JSON to an OpenLineage HTTP endpoint.
type HTTPEmitter struct {
	target   string // full URL
	redacted string // for messages
	apiKey   string
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	client   *http.Client
}

// NewHTTPEmitter makes an HTTPEmitter.
func NewHTTPEmitter(cfg HTTPConfig) (*HTTPEmitter, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("invalid OpenLineage URL: want http(s)://host[:port][/path]")
	}
	ep := cfg.Endpoint
	if ep == "" {
		ep = DefaultEndpoint
	}
	u = u.JoinPath(ep)
	h := &HTTPEmitter{
		target:   u.String(),
		redacted: u.Redacted(),
		apiKey:   cfg.APIKey,
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		backoff:  cfg.Backoff,
		client:   cfg.Client,
	}
	if h.timeout <= 0 {
		h.timeout = 10 * time.Second
	}
	if h.retries == 0 {
		h.retries = 2
	} else if h.retries < 0 {
		h.retries = 0
	}
	if h.backoff <= 0 {
		h.backoff = 500 * time.Millisecond
	}
	if h.client == nil {
		h.client = &http.Client{}
	}
	return h, nil
}

// Emit sends ev, retrying transient failures.
func (h *HTTPEmitter) Emit(ctx context.Context, ev *RunEvent) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("failed to encode lineage event: %w", err)
	}
	wait := h.backoff
	for attempt := 1; ; attempt++ {
		retry, err := h.post(ctx, body)
		if err == nil {
			return nil
		}
		if !retry || attempt > h.retries {
			return h.scrub(fmt.Errorf("lineage: POST %s failed after %d attempt(s): %w", h.redacted, attempt, err))
		}
		select {
		case <-ctx.Done():
			return h.scrub(fmt.Errorf("lineage: POST %s: %w (gave up before retrying: %w)", h.redacted, err, ctx.Err()))
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// post makes one attempt; retry says whether another may succeed.
func (h *HTTPEmitter) post(ctx context.Context, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.target, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	if h.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+h.apiKey)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		// url.Error repeats the URL unredacted: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, err
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	msg := fmt.Sprintf("HTTP %s", resp.Status)
	if s := strings.TrimSpace(string(snippet)); s != "" {
		msg += ": " + s
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, errors.New(msg)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return false, errors.New(msg + " (check the API key)")
	}
	return false, errors.New(msg)
}

// scrub removes the API key from an error's text, whatever echoed it.
func (h *HTTPEmitter) scrub(err error) error {
	if h.apiKey == "" || !strings.Contains(err.Error(), h.apiKey) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), h.apiKey, "[redacted]"))
}
