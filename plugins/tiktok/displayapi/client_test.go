package displayapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

const (
	testKey     = "ck_test_key"
	testSecret  = "cs_super_secret_value"
	testRefresh = "rft.initial_refresh_token"
)

// fakeClock is a manual clock whose Sleep records the delay and moves the
// clock on by it.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sleeps = append(f.sleeps, d)
	f.t = f.t.Add(d)
	return nil
}

func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.sleeps)
}

// recorder collects rotated tokens and log messages.
type recorder struct {
	mu      sync.Mutex
	tokens  []string
	expires []time.Time
	logs    []string
	fail    error
}

func (r *recorder) rotated(tok string, exp time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = append(r.tokens, tok)
	r.expires = append(r.expires, exp)
	return r.fail
}

func (r *recorder) log(msg string, kv ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprint(append([]any{msg}, kv...)...))
}

func (r *recorder) Tokens() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.tokens)
}

func (r *recorder) Logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.logs, "\n")
}

// fixture is an emulator plus a client wired to it with a fake clock.
type fixture struct {
	srv   *emulator.Server
	base  string
	clock *fakeClock
	rec   *recorder
	cfg   Config
}

// newFixture starts an emulator (sharing the fake clock unless opts.Now is
// set) and returns the client config for it; mod may adjust the config.
func newFixture(t *testing.T, opts emulator.Options) *fixture {
	t.Helper()
	clock := newFakeClock()
	opts.ClientKey, opts.ClientSecret, opts.RefreshToken = testKey, testSecret, testRefresh
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	srv := emulator.New(opts)
	base := srv.Start()
	t.Cleanup(srv.Close)
	rec := &recorder{}
	return &fixture{
		srv: srv, base: base, clock: clock, rec: rec,
		cfg: Config{
			BaseURL: base, ClientKey: testKey, ClientSecret: testSecret, RefreshToken: testRefresh,
			OnRefreshTokenRotated: rec.rotated,
			Sleep:                 clock.Sleep, Now: clock.Now, Logger: rec.log,
		},
	}
}

func (f *fixture) client() *Client { return New(f.cfg) }

func TestUserInfoCachesAccessToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 3, Seed: 1})
	c := f.client()
	ctx := t.Context()

	u, err := c.UserInfo(ctx, nil)
	require.NoError(t, err)
	_, err = c.UserInfo(ctx, nil)
	require.NoError(t, err)

	a := f.srv.Account()
	require.NotNil(t, u.OpenID)
	require.Equal(t, a.OpenID, *u.OpenID)
	require.Equal(t, a.DisplayName, *u.DisplayName)
	require.NotNil(t, u.IsVerified, "false must be present, not absent")
	require.False(t, *u.IsVerified)
	require.Equal(t, a.FollowerCount, *u.FollowerCount)
	require.Equal(t, int64(3), *u.VideoCount)
	require.Equal(t, 1, f.srv.Counts().Token, "the access token is cached")
	require.Len(t, f.rec.Tokens(), 1)
}

func TestUserInfoAbsentFieldsAreNil(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{Scope: emulator.ScopeUserInfoBasic + "," + emulator.ScopeVideoList})
	c := f.client()

	u, err := c.UserInfo(t.Context(), nil)
	require.NoError(t, err)
	require.NotNil(t, u.DisplayName)
	require.Nil(t, u.FollowerCount, "stats scope not granted: absent, not zero")
	require.Nil(t, u.Username)

	u, err = c.UserInfo(t.Context(), []string{"display_name"})
	require.NoError(t, err)
	require.NotNil(t, u.DisplayName)
	require.Nil(t, u.OpenID, "not requested")
}

func TestRefreshTokenRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 2})
	c := f.client()

	for range 3 {
		_, err := c.UserInfo(t.Context(), []string{"open_id"})
		require.NoError(t, err)
		f.clock.Advance(2 * time.Hour) // the access token (2 h) is now stale
	}

	toks := f.rec.Tokens()
	require.Len(t, toks, 3)
	require.NotContains(t, toks, testRefresh)
	require.Len(t, slices.Compact(slices.Sorted(slices.Values(toks))), 3, "every rotation yields a new token")
	require.Equal(t, f.srv.RefreshToken(), toks[2], "the last rotated token is the live one")
	got := f.srv.Counts()
	require.Equal(t, 3, got.Refreshed)
	require.Zero(t, got.TokenErrors, "an old refresh token was never reused")
	require.Zero(t, got.Unauthorized)
	f.rec.mu.Lock()
	require.Equal(t, f.clock.Now().Add(-2*time.Hour).Add(emulator.DefaultRefreshTokenTTL), f.rec.expires[2])
	f.rec.mu.Unlock()
}

func TestRotationCallbackFailureStopsClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 2})
	boom := errors.New("vault is read-only")
	f.rec.fail = boom
	c := f.client()

	_, err := c.UserInfo(t.Context(), nil)
	require.ErrorIs(t, err, boom)
	_, err = c.Videos(t.Context(), nil)
	require.ErrorIs(t, err, ErrClientStopped)
	require.ErrorIs(t, err, boom)

	got := f.srv.Counts()
	require.Equal(t, 1, got.Token, "no further refresh after the callback failed")
	require.Zero(t, got.UserInfo+got.VideoList, "the new access token was never used")
}

// requireConfigErrorWithoutSecrets checks err is a ConfigError asking to
// re-authorize and leaking no credential.
func requireConfigErrorWithoutSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.Contains(t, err.Error(), "re-authorise the app and set refresh_token")
	for _, s := range secrets {
		require.NotContains(t, err.Error(), s)
	}
}

func TestRevokedAuthorizationIsConfigError(t *testing.T) {
	t.Parallel()
	t.Run("before first refresh", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Options{})
		f.srv.Revoke()
		_, err := f.client().UserInfo(t.Context(), nil)
		requireConfigErrorWithoutSecrets(t, err, testRefresh, testSecret, testKey)
		require.Equal(t, 1, f.srv.Counts().Token, "invalid_grant is not retried")
	})
	t.Run("mid-run", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Options{RevokeAfter: 1, VideoCount: 3})
		c := f.client()
		_, err := c.UserInfo(t.Context(), nil)
		require.NoError(t, err)
		_, err = c.Videos(t.Context(), nil)
		requireConfigErrorWithoutSecrets(t, err, testRefresh, testSecret, f.rec.Tokens()[0], f.srv.RefreshToken())
		got := f.srv.Counts()
		require.Equal(t, 1, got.Unauthorized, "access_token_invalid triggered exactly one refresh")
		require.Equal(t, 2, got.Token)
	})
	t.Run("reused refresh token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, emulator.Options{})
		_, err := f.client().UserInfo(t.Context(), nil)
		require.NoError(t, err)
		// A second client still holding the original, now rotated, token.
		_, err = f.client().UserInfo(t.Context(), nil)
		requireConfigErrorWithoutSecrets(t, err, testRefresh, testSecret)
	})
}

func TestInvalidClientIsConfigError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{})
	f.cfg.ClientSecret = "wrong_secret_value"
	_, err := f.client().UserInfo(t.Context(), nil)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.NotContains(t, err.Error(), "wrong_secret_value")
}

func TestExpiredAccessTokenTriggersOneRefresh(t *testing.T) {
	t.Parallel()
	serverClock := newFakeClock()
	f := newFixture(t, emulator.Options{Now: serverClock.Now})
	c := f.client()
	_, err := c.UserInfo(t.Context(), nil)
	require.NoError(t, err)

	serverClock.Advance(3 * time.Hour) // the server expires the token; the client does not know
	_, err = c.UserInfo(t.Context(), nil)
	require.NoError(t, err)

	got := f.srv.Counts()
	require.Equal(t, 1, got.Unauthorized)
	require.Equal(t, 2, got.Refreshed)
	require.Equal(t, 3, got.UserInfo)
	require.Len(t, f.rec.Tokens(), 2)
}

func TestScopeNotAuthorizedIsConfigError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{Scope: emulator.ScopeUserInfoBasic})
	_, err := f.client().Videos(t.Context(), nil)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.Contains(t, err.Error(), "scope_not_authorized")
}

func TestInvalidParamsIsNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{})
	_, err := f.client().UserInfo(t.Context(), []string{"no_such_field"})
	require.ErrorContains(t, err, "invalid_params")
	require.Equal(t, sdk.KindUnknown, sdk.KindOf(err))
	require.Equal(t, 1, f.srv.Counts().UserInfo)
}

func TestVideosCollectsEachVideoOnce(t *testing.T) {
	t.Parallel()
	cases := map[string]emulator.Options{
		"clean":                   {},
		"http 429":                {RateLimitEvery: 3},
		"in-body throttle":        {RateLimitEvery: 3, InBodyRateLimit: true},
		"short and empty pages":   {ShortPages: true},
		"duplicates across pages": {DuplicateAcrossPages: true},
		"everything at once":      {ShortPages: true, DuplicateAcrossPages: true, RateLimitEvery: 4, InBodyRateLimit: true},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts.VideoCount, opts.Seed = 100, 7
			f := newFixture(t, opts)
			c := f.client()

			got, err := c.Videos(t.Context(), nil)
			require.NoError(t, err)

			want := f.srv.Videos()
			require.Len(t, got, len(want))
			for i, w := range want {
				v := got[i]
				require.Equal(t, w.ID, v.ID, "video %d", i)
				require.Len(t, v.ID, 19)
				require.NotNil(t, v.CreateTime)
				require.Equal(t, time.Unix(w.CreateTime, 0).UTC(), *v.CreateTime)
				require.Equal(t, w.ViewCount, *v.ViewCount)
				require.Equal(t, w.Title, *v.Title)
			}

			counts := f.srv.Counts()
			if opts.RateLimitEvery > 0 {
				require.Positive(t, counts.RateLimited)
				require.Contains(t, f.rec.Logs(), "retrying TikTok request")
				for _, d := range f.clock.Sleeps() {
					require.LessOrEqual(t, d, BackoffCap)
				}
			}
			if opts.DuplicateAcrossPages || opts.ShortPages {
				require.Greater(t, counts.VideoList, 100/PageSize, "the knob made extra pages")
			}
		})
	}
}

func TestRateLimitExhaustedReturnsRateLimited(t *testing.T) {
	t.Parallel()
	for _, inBody := range []bool{false, true} {
		t.Run(fmt.Sprint("in body ", inBody), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, emulator.Options{RateLimitEvery: 1, InBodyRateLimit: inBody})
			f.cfg.MaxRetries = 3
			start := f.clock.Now()
			_, err := f.client().UserInfo(t.Context(), nil)
			require.Equal(t, sdk.KindRateLimited, sdk.KindOf(err), "error: %v", err)
			var se *sdk.Error
			require.ErrorAs(t, err, &se)
			require.True(t, se.RetryAt.After(start))
			require.Equal(t, 4, f.srv.Counts().UserInfo, "one try plus MaxRetries retries")

			sleeps := f.clock.Sleeps()
			require.Len(t, sleeps, 3)
			for i, d := range sleeps {
				require.LessOrEqual(t, d, BackoffBase<<i, "full jitter stays under the exponential ceiling")
			}
		})
	}
}

// faultyProxy forwards to target after failing the first n data requests
// with status.
func faultyProxy(t *testing.T, target string, n int, status int) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	var failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != tokenEndpoint && failed.Load() < int64(n) {
			failed.Add(1)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`<html>bad gateway</html>`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &failed
}

func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 30})
	f.cfg.BaseURL, _ = faultyProxy(t, f.base, 2, http.StatusBadGateway)
	got, err := f.client().Videos(t.Context(), nil)
	require.NoError(t, err)
	require.Len(t, got, 30)
	require.Len(t, f.clock.Sleeps(), 2)
}

func TestServerErrorsExhaustedAreTransient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{})
	f.cfg.BaseURL, _ = faultyProxy(t, f.base, 100, http.StatusServiceUnavailable)
	f.cfg.MaxRetries = 2
	_, err := f.client().UserInfo(t.Context(), nil)
	require.Equal(t, sdk.KindTransient, sdk.KindOf(err), "error: %v", err)
	require.Len(t, f.clock.Sleeps(), 2)
}

func TestVideosStopsOnStalledCursor(t *testing.T) {
	t.Parallel()
	var listCalls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case tokenEndpoint:
			_, _ = w.Write([]byte(`{"access_token":"act.x","expires_in":7200,"refresh_token":"rft.next","refresh_expires_in":86400}`))
		case videoListEndpoint:
			if listCalls.Add(1) == 1 {
				// One id as a bare 19-digit number: it must not pass through float64.
				_, _ = w.Write([]byte(`{"data":{"videos":[{"id":"7569912233445566778","create_time":1762300000},{"id":7569912233445566779,"create_time":1762299999}],"cursor":1762299999000,"has_more":true},"error":{"code":"ok","message":"","log_id":"x"}}`))
				return
			}
			_, _ = w.Write([]byte(`{"data":{"videos":[],"cursor":1762299999000,"has_more":true},"error":{"code":"ok","message":"","log_id":"x"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	clock := newFakeClock()
	rec := &recorder{}
	c := New(Config{BaseURL: srv.URL, ClientKey: "k", ClientSecret: "s", RefreshToken: "r", OnRefreshTokenRotated: rec.rotated, Sleep: clock.Sleep, Now: clock.Now, Logger: rec.log})

	got, err := c.Videos(t.Context(), []string{"create_time"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, "7569912233445566778", got[0].ID)
	require.Equal(t, "7569912233445566779", got[1].ID)
	require.Equal(t, time.Unix(1762300000, 0).UTC(), *got[0].CreateTime)
	require.Nil(t, got[0].ViewCount)
	require.Equal(t, int64(1+MaxStalledPages), listCalls.Load())
	require.Contains(t, rec.Logs(), "cursor did not move")
	require.Equal(t, []string{"rft.next"}, rec.Tokens())
}

func TestLimiterSleepsOverTheLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{})
	f.cfg.RequestsPerMinute = 60 // burst 3, then 57 a minute
	c := f.client()
	const n = 10
	for range n {
		_, err := c.UserInfo(t.Context(), []string{"open_id"})
		require.NoError(t, err)
	}
	sleeps := f.clock.Sleeps()
	require.Len(t, sleeps, n-3, "every request beyond the burst waits")
	for _, d := range sleeps {
		require.InDelta(t, (60.0/57.0)*float64(time.Second), float64(d), float64(time.Millisecond))
	}
	require.Equal(t, n, f.srv.Counts().UserInfo)
}

func TestLimiterKeepsEveryMinuteUnderTheLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newLimiter(600, clock.Now, clock.Sleep)
	var stamps []time.Time
	for range 2500 {
		require.NoError(t, l.wait(t.Context()))
		stamps = append(stamps, clock.Now())
	}
	for i := range stamps {
		j := i
		for j < len(stamps) && stamps[j].Sub(stamps[i]) < time.Minute {
			j++
		}
		require.LessOrEqual(t, j-i, 600, "requests in the minute from %d", i)
	}
}

func TestLimiterWithFrozenClockDoesNotSpin(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var sleeps []time.Duration
	l := newLimiter(60, func() time.Time { return now }, func(_ context.Context, d time.Duration) error {
		sleeps = append(sleeps, d)
		return nil
	})
	for range 6 {
		require.NoError(t, l.wait(t.Context()))
	}
	require.Len(t, sleeps, 3)
	require.Less(t, sleeps[0], sleeps[1], "debt accumulates when time does not pass")
}

func TestBackoffFullJitter(t *testing.T) {
	t.Parallel()
	for attempt := range 12 {
		for range 50 {
			d := Backoff(attempt)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, min(BackoffCap, BackoffBase<<attempt))
		}
	}
	require.LessOrEqual(t, Backoff(100), BackoffCap)
}

func TestContextCancelStopsRetries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{RateLimitEvery: 1})
	ctx, cancel := context.WithCancel(t.Context())
	f.cfg.Sleep = func(context.Context, time.Duration) error {
		cancel()
		return context.Canceled
	}
	_, err := f.client().UserInfo(ctx, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, f.srv.Counts().UserInfo)
}
