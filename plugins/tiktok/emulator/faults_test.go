package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBurstCovers(t *testing.T) {
	t.Parallel()
	covered := func(b Burst) []int {
		var ns []int
		for n := 1; n <= 12; n++ {
			if b.Covers(n) {
				ns = append(ns, n)
			}
		}
		return ns
	}
	require.Empty(t, covered(Burst{}))
	require.Equal(t, []int{4, 5}, covered(Burst{After: 3, Count: 2}))
	require.Equal(t, []int{1, 5, 9}, covered(Burst{Count: 1, Every: 4}))
	require.Equal(t, []int{3, 4, 8, 9}, covered(Burst{After: 2, Count: 2, Every: 5})[:4])
}

// rawDo sends a data request and returns the status and body bytes.
func rawDo(t *testing.T, method, u, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(`{"max_count":20}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestRateLimitStorm(t *testing.T) {
	t.Parallel()
	for _, inBody := range []bool{false, true} {
		s, base := start(t, Options{VideoCount: 3, RateLimitStorm: Burst{After: 1, Count: 3}, InBodyRateLimit: inBody})
		var codes []string
		var statuses []int
		for range 5 {
			r := userInfo(t, base, testAT, "open_id")
			codes = append(codes, r.Error.Code)
			statuses = append(statuses, r.Status)
		}
		require.Equal(t, []string{CodeOK, CodeRateLimitExceeded, CodeRateLimitExceeded, CodeRateLimitExceeded, CodeOK}, codes)
		throttled := http.StatusTooManyRequests
		if inBody {
			throttled = http.StatusOK
		}
		require.Equal(t, []int{200, throttled, throttled, throttled, 200}, statuses)
		require.Equal(t, 3, s.Counts().RateLimited)
	}
}

func TestServerErrorBurst(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 3, ServerErrors: Burst{After: 1, Count: 3}})
	var statuses []int
	for range 5 {
		st, body := rawDo(t, http.MethodPost, base+"/v2/video/list/?fields=id", testAT)
		statuses = append(statuses, st)
		if st == http.StatusInternalServerError {
			var env struct {
				Error apiError `json:"error"`
			}
			require.NoError(t, json.Unmarshal(body, &env))
			require.Equal(t, CodeInternalError, env.Error.Code)
		}
		if st == http.StatusBadGateway || st == http.StatusServiceUnavailable {
			require.Contains(t, string(body), "<html>")
		}
	}
	require.Equal(t, []int{200, 503, 500, 502, 200}, statuses)
	require.Equal(t, 3, s.Counts().ServerErrors)
	require.Equal(t, 5, s.Counts().VideoList)
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 3, MalformedJSON: Burst{Count: 1}})
	st, body := rawDo(t, http.MethodGet, base+"/v2/user/info/?fields=open_id", testAT)
	require.Equal(t, http.StatusOK, st)
	var v any
	require.Error(t, json.Unmarshal(body, &v), "the body must not be valid JSON")
	require.Equal(t, CodeOK, userInfo(t, base, testAT, "open_id").Error.Code)
	require.Equal(t, 1, s.Counts().Malformed)
}

func TestSlowResponses(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 25, SlowResponses: Burst{Count: 1}, SlowDelay: 10 * time.Second})

	// The first request is held back; a client that gives up gets nothing and
	// the request has no effect (the next page is still the first).
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v2/video/list/?fields=id", strings.NewReader(`{"max_count":20}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testAT)
	began := time.Now()
	_, err = http.DefaultClient.Do(req)
	require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	require.Less(t, time.Since(began), 5*time.Second)

	vids, _, more := pageOf(t, list(t, base, testAT, "id", 0, 20))
	require.Len(t, vids, 20)
	require.True(t, more)
	s.Close() // waits for the held-back request to finish
	c := s.Counts()
	require.Equal(t, 1, c.Abandoned)
	require.Equal(t, 1, c.Slowed)
	require.Equal(t, 2, c.VideoList)

	// A patient client gets the answer after the delay.
	s2, base2 := start(t, Options{VideoCount: 1, SlowResponses: Burst{Count: 1}, SlowDelay: 50 * time.Millisecond})
	began = time.Now()
	require.Equal(t, CodeOK, userInfo(t, base2, testAT, "open_id").Error.Code)
	require.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
	require.Zero(t, s2.Counts().Abandoned)
}

func TestExpireTokensEvery(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 3, ExpireTokensEvery: 3})
	require.Equal(t, CodeOK, userInfo(t, base, testAT, "open_id").Error.Code)
	require.Equal(t, CodeOK, userInfo(t, base, testAT, "open_id").Error.Code)
	r := userInfo(t, base, testAT, "open_id")
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, CodeAccessTokenInvalid, r.Error.Code)

	// A refresh rotates the refresh token and gives a working access token.
	status, tok := refresh(t, base, refreshForm(testRT))
	require.Equal(t, http.StatusOK, status)
	at := tok["access_token"].(string)
	require.Equal(t, CodeOK, userInfo(t, base, at, "open_id").Error.Code)
	require.Equal(t, CodeOK, userInfo(t, base, at, "open_id").Error.Code)
	require.Equal(t, http.StatusUnauthorized, userInfo(t, base, at, "open_id").Status, "request 6 expires it again")
	c := s.Counts()
	require.Equal(t, 2, c.Expired)
	require.Equal(t, 2, c.Unauthorized)

	s.ExpireAccessTokens()
	require.Equal(t, 2, s.Counts().Expired, "nothing left to expire")
}

func TestSlowDelayAloneSlowsEveryAnswer(t *testing.T) {
	t.Parallel()
	s, base := start(t, Options{VideoCount: 2, SlowDelay: 30 * time.Millisecond})
	began := time.Now()
	for range 3 {
		require.Equal(t, CodeOK, userInfo(t, base, testAT, "open_id").Error.Code)
	}
	require.GreaterOrEqual(t, time.Since(began), 90*time.Millisecond)
	require.Equal(t, 3, s.Counts().Slowed)
}
