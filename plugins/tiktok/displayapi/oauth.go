package displayapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

// tokenEndpoint is the OAuth token path, relative to Config.BaseURL; it
// makes the default Config.TokenURL.
const tokenEndpoint = "/v2/oauth/token/"

// maxExpirySkew is the most an access token is retired before its expiry.
const maxExpirySkew = time.Minute

// ErrClientStopped is wrapped by every call made after a rotated refresh
// token could not be persisted.
var ErrClientStopped = errors.New("TikTok client stopped because a rotated refresh token could not be persisted")

// tokenResponse is the body of a successful refresh.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	Scope            string `json:"scope"`
	OpenID           string `json:"open_id"`
	// The OAuth error shape shares the body.
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	LogID            string `json:"log_id"`
}

// token returns a usable access token, refreshing it when none is cached or
// the cached one is about to expire.
func (c *Client) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped != nil {
		return "", c.stopped
	}
	if c.accessToken != "" && c.cfg.Now().Before(c.accessUntil) {
		return c.accessToken, nil
	}
	return c.refreshLocked(ctx)
}

// invalidate drops the cached access token if it is still token, so that the
// next call refreshes (another goroutine may already have refreshed).
func (c *Client) invalidate(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accessToken == token {
		c.accessToken = ""
	}
}

// refreshLocked exchanges the refresh token for a new pair, hands the new
// refresh token to OnRefreshTokenRotated and caches the access token. The
// caller holds c.mu.
func (c *Client) refreshLocked(ctx context.Context) (string, error) {
	var tr tokenResponse
	for retries := 0; ; retries++ {
		var kind outcome
		var err error
		tr, kind, err = c.requestToken(ctx)
		if kind == outcomeOK {
			break
		}
		if kind == outcomeFatal || kind == outcomeUnauthorized {
			return "", err
		}
		if retries >= c.cfg.MaxRetries {
			if kind == outcomeRateLimited {
				return "", sdk.RateLimited(fmt.Errorf("TikTok token refresh still throttled after %d retries: %w", retries, err), c.cfg.Now().Add(rateLimitWindow))
			}
			return "", sdk.Transient(fmt.Errorf("TikTok token refresh still failing after %d retries: %w", retries, err))
		}
		d := Backoff(retries)
		c.cfg.Logger("retrying TikTok token refresh", "retry", retries+1, "delay", d, "reason", err.Error())
		if err := c.cfg.Sleep(ctx, d); err != nil {
			return "", fmt.Errorf("failed to wait before retrying the TikTok token refresh: %w", err)
		}
	}

	now := c.cfg.Now()
	if tr.RefreshToken != "" && tr.RefreshToken != c.refreshToken {
		expiresAt := now.Add(time.Duration(tr.RefreshExpiresIn) * time.Second)
		// The old refresh token is dead from here on: keep the new one even
		// if persisting it fails, and stop the client so the failure is seen.
		c.refreshToken = tr.RefreshToken
		if cb := c.cfg.OnRefreshTokenRotated; cb != nil {
			if err := cb(tr.RefreshToken, expiresAt); err != nil {
				c.stopped = fmt.Errorf("%w: %w", ErrClientStopped, err)
				c.accessToken = ""
				return "", fmt.Errorf("failed to persist the rotated TikTok refresh token: %w", err)
			}
		} else {
			c.cfg.Logger("TikTok refresh token rotated but OnRefreshTokenRotated is not set; the new token lives only in memory")
		}
		c.cfg.Logger("TikTok refresh token rotated", "refresh_expires_at", expiresAt)
	} else if tr.RefreshToken == "" {
		c.cfg.Logger("TikTok token response carried no refresh token; keeping the current one")
	}

	if tr.OpenID != "" {
		c.openID = tr.OpenID
	}
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	c.accessToken = tr.AccessToken
	c.accessUntil = now.Add(ttl - min(maxExpirySkew, ttl/10))
	return c.accessToken, nil
}

// requestToken sends one refresh_token grant and classifies the answer.
func (c *Client) requestToken(ctx context.Context) (tokenResponse, outcome, error) {
	form := url.Values{
		"client_key":    {c.cfg.ClientKey},
		"client_secret": {c.cfg.ClientSecret},
		"grant_type":    {"refresh_token"},
		"refresh_token": {c.refreshToken},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, outcomeFatal, fmt.Errorf("failed to build the TikTok token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return tokenResponse{}, outcomeFatal, fmt.Errorf("failed to refresh the TikTok token: %w", ctx.Err())
		}
		return tokenResponse{}, outcomeTransient, fmt.Errorf("failed to refresh the TikTok token: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		if ctx.Err() != nil {
			return tokenResponse{}, outcomeFatal, fmt.Errorf("failed to read the TikTok token response: %w", ctx.Err())
		}
		return tokenResponse{}, outcomeTransient, fmt.Errorf("failed to read the TikTok token response: %w", err)
	}
	var tr tokenResponse
	decodeErr := json.Unmarshal(raw, &tr)
	// Messages name the error code and log id only: the description is
	// server text and the request carried secrets.
	describe := func() error {
		if decodeErr != nil {
			return fmt.Errorf("TikTok token endpoint answered HTTP %d with a body that is not valid JSON (%d bytes): %w", resp.StatusCode, len(raw), decodeErr)
		}
		return fmt.Errorf("TikTok token endpoint answered HTTP %d, error %q (log_id %s)", resp.StatusCode, tr.Error, tr.LogID)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || tr.Error == codeRateLimitExceeded:
		return tr, outcomeRateLimited, describe()
	case resp.StatusCode >= 500:
		return tr, outcomeTransient, describe()
	case tr.Error == "invalid_grant":
		return tr, outcomeFatal, sdk.ConfigError(fmt.Errorf("TikTok rejected the refresh token (it expired, was already used or the user revoked the app); re-authorise the app and set refresh_token: %w", describe()))
	case tr.Error == "invalid_client" || tr.Error == "unauthorized_client":
		return tr, outcomeFatal, sdk.ConfigError(fmt.Errorf("TikTok rejected the app credentials; check client_key and client_secret: %w", describe()))
	case resp.StatusCode == http.StatusNotFound && decodeErr != nil:
		return tr, outcomeFatal, sdk.ConfigError(fmt.Errorf("there is no TikTok token endpoint at %s; check token_url: %w", c.cfg.TokenURL, describe()))
	case decodeErr != nil && resp.StatusCode == http.StatusOK:
		// A body cut off or mangled on the way: worth another try.
		return tr, outcomeTransient, describe()
	case decodeErr != nil || tr.Error != "" || resp.StatusCode != http.StatusOK:
		return tr, outcomeFatal, describe()
	case tr.AccessToken == "":
		return tr, outcomeFatal, errors.New("TikTok token endpoint answered without an access token")
	}
	return tr, outcomeOK, nil
}
