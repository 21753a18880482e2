// Package webapi is a small client for the read-only parts of the Spotify Web
// API that the Spotify connector needs: artists, an artist's albums, an
// album's tracks and tracks (with their ISRCs).
//
// It authenticates with the client-credentials flow (sources.md §2.2): the
// access token is fetched on first use, cached until shortly before it
// expires, and renewed when the API answers 401 (the request is then retried
// once). Transient failures are retried (sources.md §2.5, §5 items 20–21):
//
//   - 429: waits for Retry-After seconds; after Config.MaxRetries retries the
//     error is an sdk.RateLimited carrying the reset time.
//   - 5xx and network errors: exponential backoff with full jitter (base
//     500 ms, cap 30 s); after MaxRetries retries the error is sdk.Transient.
//   - 403: sdk.ConfigError, not retried (re-authenticating does not help).
//   - a 200 whose body is not JSON (cut short): retried with the same
//     backoff; after MaxRetries retries sdk.Transient.
//   - 404: an error naming the resource that matches ErrNotFound.
//   - 400 invalid_client from the token endpoint: sdk.ConfigError, not
//     retried; its message never contains the client secret.
//
// Paged endpoints follow the absolute next URL until it is null and never
// compute offsets; a retried page is requested again at the same next URL.
// Fields that Development-Mode apps no longer receive (sources.md §2.1) are
// pointers or nil slices, so "absent" is never confused with zero. Tracks uses
// the batch ?ids= endpoint and falls back to single GETs, once and for all,
// when the app is in Development Mode and that endpoint is gone.
package webapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// Defaults applied by New to a zero Config field.
const (
	// DefaultBaseURL is the Web API base URL.
	DefaultBaseURL = "https://api.spotify.com/v1"
	// DefaultTokenURL is the accounts-service token endpoint.
	DefaultTokenURL = "https://accounts.spotify.com/api/token"
	// DefaultMaxRetries is the number of retries after the first attempt.
	DefaultMaxRetries = 5
)

const (
	backoffBase = 500 * time.Millisecond
	backoffCap  = 30 * time.Second
	// pageLimit is the largest page the paged endpoints accept.
	pageLimit = 50
	// batchSize is the most ids GET /tracks?ids= accepts.
	batchSize = 50
	// maxErrorBody bounds how much of an error response is read.
	maxErrorBody = 64 << 10
	// allAlbumGroups asks the artist-albums endpoint for every group.
	allAlbumGroups = "album,single,compilation,appears_on"
)

// ErrNotFound matches (errors.Is) any error for a 404 response.
var ErrNotFound = errors.New("not found")

// Config configures a Client. Only ClientID and ClientSecret are required.
type Config struct {
	// BaseURL is the Web API base URL (default DefaultBaseURL).
	BaseURL string
	// TokenURL is the client-credentials token endpoint (default DefaultTokenURL).
	TokenURL string
	// ClientID and ClientSecret are the app's credentials.
	ClientID     string
	ClientSecret string
	// HTTPClient sends the requests (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// MaxRetries is how many times a failing request is retried after its
	// first attempt (default DefaultMaxRetries; negative means never).
	MaxRetries int
	// Sleep waits between retries; it must return early with ctx's error
	// when ctx ends (default: a timer). Tests inject one that records waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives retry and fallback notices as a message plus
	// key/value pairs (default: discard).
	Logger func(msg string, kv ...any)
	// Now is the clock for token expiry and rate-limit reset times
	// (default time.Now).
	Now func() time.Time
}

// Client calls the Spotify Web API. It is safe for concurrent use.
type Client struct {
	cfg        Config
	base       *url.URL
	maxRetries int

	mu       sync.Mutex // guards tok, tokUntil; held while minting a token
	tok      string
	tokUntil time.Time

	// batchRemoved records that GET /tracks?ids= is unavailable (dev mode).
	batchRemoved atomic.Bool
}

// New returns a Client for cfg with defaults applied. Configuration errors
// (missing credentials, bad URLs) surface as sdk.ConfigError on first use.
func New(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.TokenURL == "" {
		cfg.TokenURL = DefaultTokenURL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if cfg.Logger == nil {
		cfg.Logger = func(string, ...any) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, maxRetries: cfg.MaxRetries}
	switch {
	case cfg.MaxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		c.maxRetries = 0
	}
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		c.base = u
	}
	return c
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// APIError is a non-2xx answer from Spotify, decoded from either the Web
// API's regular error object {"error":{"status","message"}} or the accounts
// service's {"error","error_description"}.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the accounts-service error code (e.g. "invalid_client"); empty
	// for Web API errors.
	Code string
	// Message is the human-readable message Spotify sent, if any.
	Message string
}

// Error formats the status, code and message, e.g. "HTTP 404: non existing id".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is makes a 404 APIError match ErrNotFound.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// readAPIError decodes and closes an error response.
func readAPIError(resp *http.Response) *APIError {
	defer closeBody(resp)
	e := &APIError{Status: resp.StatusCode}
	var body struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&body); err != nil {
		e.Message = http.StatusText(resp.StatusCode)
		return e
	}
	var regular struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body.Error, &regular) == nil && regular.Message != "" {
		e.Message = regular.Message
		return e
	}
	// The string form is the authentication error object; an unmarshal
	// failure just leaves Code empty.
	_ = json.Unmarshal(body.Error, &e.Code)
	e.Message = body.ErrorDescription
	return e
}

// closeBody drains (bounded) and closes resp.Body so the connection is reused.
func closeBody(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
}

// backoff returns the full-jitter wait before retry number retry (0-based).
func backoff(retry int) time.Duration {
	ceiling := backoffCap
	if retry < 16 {
		ceiling = min(backoffCap, backoffBase<<retry)
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// retryAfter parses a Retry-After header (seconds or an HTTP date).
func (c *Client) retryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(c.cfg.Now()), 0), true
	}
	return 0, false
}

// exchange sends the request built by newReq, retrying network errors, 429
// and 5xx answers. Any other response is returned for the caller to handle
// (and close). what completes "failed to …" in error messages.
func (c *Client) exchange(ctx context.Context, what string, newReq func() (*http.Request, error)) (*http.Response, error) {
	for retry := 0; ; retry++ {
		req, err := newReq()
		if err != nil {
			return nil, sdk.ConfigError(fmt.Errorf("failed to build request to %s: %w", what, err))
		}
		resp, err := c.cfg.HTTPClient.Do(req)
		var (
			wait    time.Duration
			failure error
			status  int
		)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("failed to %s: %w", what, ctx.Err())
			}
			wait = backoff(retry)
			failure = sdk.Transient(fmt.Errorf("failed to %s: %w", what, err))
		case resp.StatusCode == http.StatusTooManyRequests:
			status = resp.StatusCode
			var ok bool
			if wait, ok = c.retryAfter(resp.Header); !ok {
				wait = backoff(retry)
			}
			failure = sdk.RateLimited(fmt.Errorf("failed to %s: %w", what, readAPIError(resp)), c.cfg.Now().Add(wait))
		case resp.StatusCode >= 500:
			status = resp.StatusCode
			wait = backoff(retry)
			failure = sdk.Transient(fmt.Errorf("failed to %s: %w", what, readAPIError(resp)))
		default:
			return resp, nil
		}
		if retry >= c.maxRetries {
			return nil, failure
		}
		c.cfg.Logger("spotify request failed, retrying", "request", what, "status", status,
			"retry", retry+1, "max_retries", c.maxRetries, "wait", wait, "error", failure)
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("failed to %s while waiting to retry: %w", what, err)
		}
	}
}

// accessToken returns the cached token or mints a new one.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && c.cfg.Now().Before(c.tokUntil) {
		return c.tok, nil
	}
	if c.cfg.ClientID == "" || c.cfg.ClientSecret == "" {
		return "", sdk.ConfigError(errors.New("failed to get a Spotify access token: client id and client secret are required"))
	}
	const what = "get a Spotify access token"
	resp, err := c.exchange(ctx, what, func() (*http.Request, error) {
		body := strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode())
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, body)
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(c.cfg.ClientID, c.cfg.ClientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := readAPIError(resp)
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return "", sdk.ConfigError(fmt.Errorf("failed to %s: Spotify rejected the app's client id or client secret; "+
				"copy both again from the app's page in the Spotify developer dashboard: %w", what, apiErr))
		}
		return "", fmt.Errorf("failed to %s: %w", what, apiErr)
	}
	defer closeBody(resp)
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		return "", sdk.Transient(fmt.Errorf("failed to decode Spotify token response: %w", err))
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("failed to %s: response has no access_token", what)
	}
	ttl := time.Duration(tok.ExpiresIn) * time.Second
	// Renew shortly before expiry: 60 s early, or 10% early for short TTLs.
	c.tok, c.tokUntil = tok.AccessToken, c.cfg.Now().Add(ttl-min(time.Minute, ttl/10))
	return c.tok, nil
}

// dropToken forgets tok if it is still the cached token.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok = ""
	}
}

// getJSON GETs rawURL and decodes a 200 answer into out. resource names the
// object for error messages (e.g. "artist 4Zr9…"). A 401 renews the token
// and retries once. A 200 answer whose body is not JSON (cut short, an
// HTML page from a proxy) is retried with backoff like a 5xx, and after
// MaxRetries retries is an sdk.Transient error. Valid JSON of an unexpected
// shape is not retried: Spotify would send the same again.
func (c *Client) getJSON(ctx context.Context, rawURL, resource string, out any) error {
	what := "get Spotify " + resource
	renewed := false
	for malformed := 0; ; {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		resp, err := c.exchange(ctx, what, func() (*http.Request, error) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Accept", "application/json")
			return req, nil
		})
		if err != nil {
			return err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			body, err := readBody(resp)
			if err == nil && json.Valid(body) {
				if err := json.Unmarshal(body, out); err != nil {
					return fmt.Errorf("failed to %s: Spotify's answer does not have the expected shape: %w", what, err)
				}
				return nil
			}
			if ctx.Err() != nil {
				return fmt.Errorf("failed to %s: %w", what, ctx.Err())
			}
			if err == nil {
				err = fmt.Errorf("the body of %d bytes is not valid JSON (cut short?)", len(body))
			}
			failure := sdk.Transient(fmt.Errorf("failed to %s: Spotify's answer was malformed %d time(s) in a row: %w", what, malformed+1, err))
			if malformed >= c.maxRetries {
				return failure
			}
			wait := backoff(malformed)
			c.cfg.Logger("spotify answer malformed, retrying", "request", what, "retry", malformed+1,
				"max_retries", c.maxRetries, "wait", wait, "error", err)
			if err := c.cfg.Sleep(ctx, wait); err != nil {
				return fmt.Errorf("failed to %s while waiting to retry: %w", what, err)
			}
			malformed++
		case http.StatusUnauthorized:
			apiErr := readAPIError(resp)
			if !renewed {
				c.cfg.Logger("spotify access token rejected, renewing", "request", what, "error", apiErr.Message)
				c.dropToken(tok)
				renewed = true
				continue
			}
			return fmt.Errorf("failed to %s with a fresh access token: %w", what, apiErr)
		case http.StatusForbidden:
			return sdk.ConfigError(fmt.Errorf("failed to %s: Spotify refused this app access (HTTP 403); "+
				"check in the Spotify developer dashboard that the app of client_id is active and allowed to use the Web API: %w",
				what, readAPIError(resp)))
		case http.StatusNotFound:
			return fmt.Errorf("failed to %s: %s not found: %w", what, resource, readAPIError(resp))
		default:
			return fmt.Errorf("failed to %s: %w", what, readAPIError(resp))
		}
	}
}

// maxBody bounds a 200 answer; Spotify's pages are a few hundred KB at most.
const maxBody = 64 << 20

// readBody reads and closes a 200 answer.
func readBody(resp *http.Response) ([]byte, error) {
	defer closeBody(resp)
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return body, fmt.Errorf("failed to read the answer: %w", err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("the answer is larger than %d bytes", maxBody)
	}
	return body, nil
}

// endpoint returns BaseURL + path (path already escaped) + optional query.
func (c *Client) endpoint(path string, q url.Values) string {
	u := c.cfg.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// checkNext refuses next URLs that leave the configured API host, so the
// bearer token is never sent elsewhere.
func (c *Client) checkNext(next string) error {
	u, err := url.Parse(next)
	if err != nil {
		return fmt.Errorf("failed to parse next page URL %q: %w", next, err)
	}
	if c.base == nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return fmt.Errorf("failed to follow next page URL %q: it is not on the API host %q", next, c.cfg.BaseURL)
	}
	return nil
}

// paging is Spotify's paging object.
type paging[T any] struct {
	Items []T     `json:"items"`
	Next  *string `json:"next"`
	Total int     `json:"total"`
}

// collect follows a paged endpoint from first until next is null, keeping
// the first occurrence of each id.
func collect[T any](ctx context.Context, c *Client, first, resource string, id func(T) string) ([]T, error) {
	var out []T
	seenItem := map[string]bool{}
	seenURL := map[string]bool{}
	for u, n := first, 1; u != ""; n++ {
		seenURL[u] = true
		var p paging[T]
		if err := c.getJSON(ctx, u, fmt.Sprintf("%s (page %d)", resource, n), &p); err != nil {
			return nil, err
		}
		for _, it := range p.Items {
			if k := id(it); !seenItem[k] {
				seenItem[k] = true
				out = append(out, it)
			}
		}
		u = ""
		if p.Next != nil && *p.Next != "" {
			u = *p.Next
			if seenURL[u] {
				return nil, fmt.Errorf("failed to page through Spotify %s: next URL %q repeats", resource, u)
			}
			if err := c.checkNext(u); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
