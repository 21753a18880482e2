// Package displayapi is a client for the TikTok Display API v2
// (https://open.tiktokapis.com): the user profile (/v2/user/info/) and the
// user's public videos (/v2/video/list/), authorised with a user refresh
// token.
//
// The client handles the parts of the API that are easy to get wrong:
//
//   - Refresh tokens rotate on every refresh. The client hands each new
//     refresh token to Config.OnRefreshTokenRotated before it uses the new
//     access token, and uses only the newest refresh token afterwards. If the
//     callback fails the client stops: losing a rotated token would lock the
//     label out.
//   - Access tokens are cached until shortly before they expire; a 401
//     access_token_invalid triggers one refresh and one retry. A rejected
//     refresh (invalid_grant) is an sdk.ConfigError asking the user to
//     re-authorise the app; error messages never contain a token or the
//     secret.
//   - A client-side token bucket keeps requests under
//     Config.RequestsPerMinute. Throttling (HTTP 429 or the
//     rate_limit_exceeded code inside an HTTP 200 body), 5xx answers,
//     network failures and bodies that are not JSON (a response cut off) are
//     retried with exponential backoff and full jitter (base 1 s, cap 60 s);
//     after Config.MaxRetries the error is an sdk.RateLimited (with the time
//     the one-minute window resets) or an sdk.Transient.
//   - Every answered data request is returned as an Exchange: the request
//     without credentials and the body exactly as received, for the landing
//     zone.
//   - Video lists are paged by cursor (Unix ms) until has_more is false
//     (VideoPage gives one page, Videos all of them), tolerating short and
//     empty pages, de-duplicating by id and guarding against a cursor that
//     stops moving. Ids stay strings (they are 19 digits and do not survive
//     float64).
package displayapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// DefaultBaseURL is the Display API host.
const DefaultBaseURL = "https://open.tiktokapis.com"

// DefaultTokenURL is the OAuth token endpoint of the Display API.
const DefaultTokenURL = DefaultBaseURL + tokenEndpoint

// Defaults for Config.
const (
	DefaultMaxRetries        = 5
	DefaultRequestsPerMinute = 600
)

// Backoff bounds for retried requests (full jitter: a uniform delay between
// zero and min(BackoffCap, BackoffBase·2^attempt)).
const (
	BackoffBase = time.Second
	BackoffCap  = 60 * time.Second
)

// rateLimitWindow is the length of TikTok's sliding rate-limit window; it
// sets the reset time reported with sdk.RateLimited.
const rateLimitWindow = time.Minute

// maxBodyBytes bounds how much of a response body the client reads.
const maxBodyBytes = 16 << 20

// Display API error codes (error.code in the response envelope).
const (
	codeOK                    = "ok"
	codeAccessTokenInvalid    = "access_token_invalid"
	codeScopeNotAuthorized    = "scope_not_authorized"
	codeScopePermissionMissed = "scope_permission_missed"
	codeRateLimitExceeded     = "rate_limit_exceeded"
	codeInternalError         = "internal_error"
)

// Config configures a Client. ClientKey, ClientSecret and RefreshToken are
// required; every other field has a default.
type Config struct {
	// BaseURL is the API host without a trailing slash; DefaultBaseURL when
	// empty.
	BaseURL string
	// TokenURL is the OAuth token endpoint; BaseURL + "/v2/oauth/token/"
	// when empty.
	TokenURL string
	// ClientKey and ClientSecret are the app credentials.
	ClientKey    string
	ClientSecret string
	// RefreshToken is the current user refresh token. It is replaced in
	// memory by every rotation.
	RefreshToken string
	// OnRefreshTokenRotated is called with every new refresh token and its
	// expiry, before the matching access token is used. It must persist the
	// token durably: the previous one no longer works. If it returns an
	// error the call fails with that error and the client refuses further
	// calls.
	OnRefreshTokenRotated func(newToken string, expiresAt time.Time) error
	// HTTPClient sends the requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// MaxRetries is how many times a throttled, 5xx or network-failed
	// request is retried; DefaultMaxRetries when zero, no retries when
	// negative.
	MaxRetries int
	// RequestsPerMinute caps the data requests the client sends;
	// DefaultRequestsPerMinute when zero or negative.
	RequestsPerMinute int
	// Sleep waits for d or until ctx is done; a timer when nil. Tests inject
	// a fake that records the delays.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for token expiry and the rate limiter; time.Now when
	// nil.
	Now func() time.Time
	// Logger receives diagnostic messages with key/value pairs (never a
	// token or secret); discarded when nil.
	Logger func(msg string, kv ...any)
}

// Client calls the Display API for one authorised user. It is safe for
// concurrent use.
type Client struct {
	cfg     Config
	http    *http.Client
	limiter *limiter

	mu           sync.Mutex // guards the fields below and serialises refreshes
	refreshToken string
	accessToken  string
	accessUntil  time.Time // when to stop using accessToken
	openID       string    // open_id of the authorised user, from the token response
	stopped      error     // set when a rotated token could not be persisted
}

// New returns a Client for cfg, filling in defaults.
func New(cfg Config) *Client {
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = cfg.BaseURL + tokenEndpoint
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.RequestsPerMinute <= 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepTimer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = func(string, ...any) {}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{
		cfg:          cfg,
		http:         hc,
		limiter:      newLimiter(cfg.RequestsPerMinute, cfg.Now, cfg.Sleep),
		refreshToken: cfg.RefreshToken,
	}
}

// sleepTimer waits for d or until ctx is done.
func sleepTimer(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Backoff returns the full-jitter delay before retry number attempt
// (0-based): uniform between zero and min(BackoffCap, BackoffBase·2^attempt).
func Backoff(attempt int) time.Duration {
	ceiling := BackoffCap
	if attempt < 16 {
		ceiling = min(BackoffCap, BackoffBase<<attempt)
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1)) //nolint:gosec // jitter, not security
}

// apiError is the error object of the Display API envelope.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	LogID   string `json:"log_id"`
}

// envelope is the {data, error} body of every Display API data response.
type envelope struct {
	Data  json.RawMessage `json:"data"`
	Error apiError        `json:"error"`
}

// outcome classifies one attempt of a data request.
type outcome int

const (
	outcomeOK outcome = iota
	outcomeUnauthorized
	outcomeRateLimited
	outcomeTransient
	outcomeFatal
)

// call sends a data request to endpoint with the given fields and JSON body
// (nil for GET), handling tokens, the limiter, retries and the error
// envelope. It returns the envelope's data and the answered exchange.
func (c *Client) call(ctx context.Context, method, endpoint string, fields []string, body []byte) (json.RawMessage, Exchange, error) {
	retries := 0
	refreshed := false
	for {
		token, err := c.token(ctx)
		if err != nil {
			return nil, Exchange{}, err
		}
		if err := c.limiter.wait(ctx); err != nil {
			return nil, Exchange{}, fmt.Errorf("failed to wait for the TikTok rate limiter: %w", err)
		}
		data, ex, kind, err := c.attempt(ctx, method, endpoint, fields, body, token)
		switch kind {
		case outcomeOK:
			return data, ex, nil
		case outcomeFatal:
			return nil, Exchange{}, err
		case outcomeUnauthorized:
			if refreshed {
				return nil, Exchange{}, sdk.ConfigError(fmt.Errorf("TikTok rejected a freshly refreshed access token for %s; re-authorise the app and set refresh_token: %w", endpoint, err))
			}
			refreshed = true
			c.cfg.Logger("TikTok access token rejected; refreshing", "endpoint", endpoint)
			c.invalidate(token)
			continue
		}
		// Rate limited or transient: retry with backoff.
		if retries >= c.cfg.MaxRetries {
			if kind == outcomeRateLimited {
				return nil, Exchange{}, sdk.RateLimited(fmt.Errorf("TikTok kept throttling %s (rate limit exceeded) after %d retries: %w", endpoint, retries, err), c.cfg.Now().Add(rateLimitWindow))
			}
			return nil, Exchange{}, sdk.Transient(fmt.Errorf("TikTok %s kept failing after %d retries: %w", endpoint, retries, err))
		}
		d := Backoff(retries)
		retries++
		c.cfg.Logger("retrying TikTok request", "endpoint", endpoint, "retry", retries, "delay", d, "reason", err.Error())
		if err := c.cfg.Sleep(ctx, d); err != nil {
			return nil, Exchange{}, fmt.Errorf("failed to wait before retrying TikTok %s: %w", endpoint, err)
		}
	}
}

// attempt sends one data request and classifies the answer.
func (c *Client) attempt(ctx context.Context, method, endpoint string, fields []string, body []byte, token string) (json.RawMessage, Exchange, outcome, error) {
	ex := Exchange{
		Method: method,
		URL:    c.cfg.BaseURL + endpoint + "?" + url.Values{"fields": {strings.Join(fields, ",")}}.Encode(),
		Params: requestParams(fields, body),
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, ex.URL, rd)
	if err != nil {
		return nil, ex, outcomeFatal, fmt.Errorf("failed to build TikTok %s request: %w", endpoint, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ex, outcomeFatal, fmt.Errorf("failed to call TikTok %s: %w", endpoint, ctx.Err())
		}
		return nil, ex, outcomeTransient, fmt.Errorf("failed to call TikTok %s: %w", endpoint, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ex, outcomeFatal, fmt.Errorf("failed to read TikTok %s response: %w", endpoint, ctx.Err())
		}
		return nil, ex, outcomeTransient, fmt.Errorf("failed to read TikTok %s response: %w", endpoint, err)
	}
	ex.Status, ex.ReceivedAt, ex.Body = resp.StatusCode, c.cfg.Now().UTC(), raw
	var env envelope
	decodeErr := json.Unmarshal(raw, &env)
	code := env.Error.Code
	describe := func() error {
		if decodeErr != nil {
			return fmt.Errorf("TikTok %s answered HTTP %d with a body that is not valid JSON (%d bytes): %w", endpoint, resp.StatusCode, len(raw), decodeErr)
		}
		return fmt.Errorf("TikTok %s answered HTTP %d, error %q: %s (log_id %s)", endpoint, resp.StatusCode, code, env.Error.Message, env.Error.LogID)
	}
	switch {
	case code == codeRateLimitExceeded || resp.StatusCode == http.StatusTooManyRequests:
		return nil, ex, outcomeRateLimited, describe()
	case resp.StatusCode >= 500 || code == codeInternalError:
		return nil, ex, outcomeTransient, describe()
	case code == codeAccessTokenInvalid || (resp.StatusCode == http.StatusUnauthorized && code == ""):
		return nil, ex, outcomeUnauthorized, describe()
	case code == codeScopeNotAuthorized || code == codeScopePermissionMissed:
		return nil, ex, outcomeFatal, sdk.ConfigError(fmt.Errorf("the TikTok authorisation lacks a scope needed for %s; re-authorise the app granting user.info.basic, user.info.profile, user.info.stats and video.list, and set refresh_token: %w", endpoint, describe()))
	case resp.StatusCode == http.StatusNotFound && decodeErr != nil:
		return nil, ex, outcomeFatal, sdk.ConfigError(fmt.Errorf("TikTok %s was not found at %s; check base_url: %w", endpoint, c.cfg.BaseURL, describe()))
	case decodeErr != nil && resp.StatusCode == http.StatusOK:
		// A body cut off or mangled on the way: worth another try.
		return nil, ex, outcomeTransient, describe()
	case decodeErr != nil || code != codeOK || resp.StatusCode != http.StatusOK:
		return nil, ex, outcomeFatal, describe()
	}
	return env.Data, ex, outcomeOK, nil
}

// OpenID returns the open_id of the authorised user, known once a token has
// been obtained (empty before).
func (c *Client) OpenID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.openID
}
