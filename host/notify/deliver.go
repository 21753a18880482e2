package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Notifier delivers one alert to one destination, making one attempt.
// Retries belong to the caller (Router, WithRetry). Errors a retry may cure
// (timeouts, HTTP 5xx and 429, SMTP 4xx) report true from IsRetryable.
type Notifier interface {
	Notify(ctx context.Context, a Alert) error
}

// NotifierFunc adapts a function to the Notifier interface.
type NotifierFunc func(ctx context.Context, a Alert) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, a Alert) error { return f(ctx, a) }

// DefaultTimeout bounds one delivery attempt when no timeout is configured.
const DefaultTimeout = 10 * time.Second

// maxResponse is how much of an answer is read for an error message.
const maxResponse = 4 << 10

// deliveryError is what the built-in notifiers return: a message already
// free of secrets, whether a retry may help, and how long the receiver
// asked us to wait (HTTP Retry-After).
type deliveryError struct {
	msg        string
	retryable  bool
	retryAfter time.Duration
	cause      error // only context errors, so errors.Is(err, context.Canceled) works
}

func (e *deliveryError) Error() string { return e.msg }
func (e *deliveryError) Unwrap() error { return e.cause }

// IsRetryable reports whether err came from a failure that may pass on a
// later attempt: a timeout, a connection problem, HTTP 5xx/408/429, SMTP 4xx.
func IsRetryable(err error) bool {
	var de *deliveryError
	return errors.As(err, &de) && de.retryable
}

// retryAfter is the wait the receiver asked for, or 0.
func retryAfter(err error) time.Duration {
	var de *deliveryError
	if errors.As(err, &de) {
		return de.retryAfter
	}
	return 0
}

// redactor scrubs configured secrets from text.
type redactor struct{ secrets []string }

// minSecret is the shortest value scrubbed; shorter ones would mangle text.
const minSecret = 4

func newRedactor(secrets ...string) redactor {
	var r redactor
	for _, s := range secrets {
		r.add(s)
	}
	return r
}

func (r *redactor) add(s string) {
	if len(s) < minSecret {
		return
	}
	r.secrets = append(r.secrets, s)
	if e := url.QueryEscape(s); e != s {
		r.secrets = append(r.secrets, e)
	}
}

// addURL scrubs a URL whose path or query may carry a token: the whole URL,
// its path and query, and every path segment and query value long enough
// to be a token.
func (r *redactor) addURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		r.add(raw)
		return
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		r.add(raw) // a bare scheme://host holds no token and names the endpoint
	}
	r.add(u.EscapedPath())
	r.add(u.RawQuery)
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 6 {
			r.add(seg)
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			r.add(v)
		}
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			r.add(p)
		}
	}
}

func (r redactor) merge(o redactor) redactor {
	return redactor{secrets: append(append([]string(nil), r.secrets...), o.secrets...)}
}

// String returns s with every secret replaced by "[redacted]".
func (r redactor) String(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "[redacted]")
	}
	return s
}

// endpointName names an endpoint without path, query or user info, e.g.
// "https://hooks.slack.com", so it can appear in messages.
func endpointName(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the configured URL"
	}
	return u.Scheme + "://" + u.Host
}

// validateURL checks that raw is an absolute http(s) URL, naming the field.
// The value itself is not printed: it may hold a token.
func validateURL(field, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is not set", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s is not a valid URL", field)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%s must be an http:// or https:// URL with a host", field)
	}
	return nil
}

// newHTTPClient makes a client with a per-attempt timeout that does not
// follow redirects (a redirect would carry signed bodies and tokens to a
// host nobody configured).
func newHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{
		Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// httpAnswer is the part of a response a notifier looks at.
type httpAnswer struct {
	status     int
	body       string // at most maxResponse bytes, scrubbed
	retryAfter time.Duration
}

// postJSON sends body to endpoint and returns the answer. service names the
// receiver in messages ("Slack", "PagerDuty", "the webhook"). A transport
// failure comes back as a scrubbed *deliveryError.
func postJSON(ctx context.Context, client *http.Client, endpoint string, body []byte, headers http.Header, red redactor, service string) (httpAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return httpAnswer{}, &deliveryError{msg: fmt.Sprintf("%s: cannot build the request to %s", service, endpointName(endpoint))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bedrot-notify/1")
	for k, vs := range headers {
		req.Header[k] = vs
	}
	resp, err := client.Do(req)
	if err != nil {
		return httpAnswer{}, transportError(ctx, err, red, service, endpointName(endpoint), client.Timeout)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return httpAnswer{
		status:     resp.StatusCode,
		body:       red.String(strings.TrimSpace(string(raw))),
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
	}, nil
}

// transportError turns a failed connection into a scrubbed error. The
// *url.Error is not kept: its text holds the full URL.
func transportError(ctx context.Context, err error, red redactor, service, endpoint string, timeout time.Duration) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return &deliveryError{msg: fmt.Sprintf("%s: delivery to %s was cancelled: %v", service, endpoint, ctxErr), cause: ctxErr}
	}
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &deliveryError{msg: fmt.Sprintf("%s did not answer within %s (%s); will retry", service, timeout, endpoint), retryable: true}
	}
	return &deliveryError{
		msg:       fmt.Sprintf("%s could not be reached at %s: %s", service, endpoint, red.String(inner.Error())),
		retryable: true,
	}
}

// statusError describes a non-2xx answer. hint, when not empty, tells the
// reader what to do about it.
func statusError(service string, a httpAnswer, hint string) error {
	msg := fmt.Sprintf("%s refused the alert: HTTP %d %s", service, a.status, http.StatusText(a.status))
	if a.body != "" {
		msg += ": " + truncate(oneLine(a.body), 300)
	}
	if hint != "" {
		msg += " — " + hint
	}
	retry := a.status >= 500 || a.status == http.StatusTooManyRequests || a.status == http.StatusRequestTimeout
	return &deliveryError{msg: msg, retryable: retry, retryAfter: a.retryAfter}
}

func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// RetryConfig bounds the retries of one notifier for one alert.
type RetryConfig struct {
	// Attempts is the total number of tries (default 3, at most 10).
	Attempts int `koanf:"attempts" json:"attempts,omitempty"`
	// Backoff is the wait before the second try; it doubles after each
	// failure, with jitter (default 2s).
	Backoff time.Duration `koanf:"backoff" json:"backoff,omitempty"`
	// MaxBackoff caps every wait, including one a receiver asks for with
	// Retry-After (default 30s).
	MaxBackoff time.Duration `koanf:"max_backoff" json:"max_backoff,omitempty"`
}

// Retry defaults.
const (
	DefaultAttempts   = 3
	MaxAttempts       = 10
	DefaultBackoff    = 2 * time.Second
	DefaultMaxBackoff = 30 * time.Second
)

func (c RetryConfig) withDefaults() RetryConfig {
	if c.Attempts <= 0 {
		c.Attempts = DefaultAttempts
	}
	c.Attempts = min(c.Attempts, MaxAttempts)
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	c.MaxBackoff = max(c.MaxBackoff, c.Backoff)
	return c
}

// wait is how long to wait after failed attempt n (1-based): exponential
// with jitter in [d/2, d], at least what the receiver asked for, capped.
func (c RetryConfig) wait(n int, err error) time.Duration {
	d := c.Backoff << min(n-1, 20)
	if d <= 0 || d > c.MaxBackoff {
		d = c.MaxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	if ra := retryAfter(err); ra > d {
		d = ra
	}
	return min(d, c.MaxBackoff)
}

// deliver runs n.Notify until it succeeds, fails for good, runs out of
// attempts or ctx ends. onFail is called after every failed attempt with
// the wait before the next (0 when there is none). It returns the number of
// attempts made.
func deliver(ctx context.Context, n Notifier, a Alert, c RetryConfig, onFail func(attempt int, err error, wait time.Duration)) (int, error) {
	c = c.withDefaults()
	for attempt := 1; ; attempt++ {
		err := n.Notify(ctx, a)
		if err == nil {
			return attempt, nil
		}
		if attempt >= c.Attempts || !IsRetryable(err) || ctx.Err() != nil {
			if onFail != nil {
				onFail(attempt, err, 0)
			}
			return attempt, err
		}
		w := c.wait(attempt, err)
		if onFail != nil {
			onFail(attempt, err, w)
		}
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		case <-t.C:
		}
	}
}

// WithRetry wraps n so that each Notify retries retryable failures as c says.
func WithRetry(n Notifier, c RetryConfig) Notifier {
	return NotifierFunc(func(ctx context.Context, a Alert) error {
		_, err := deliver(ctx, n, a, c, nil)
		return err
	})
}
