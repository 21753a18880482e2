package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// start runs an emulator for the test and returns it with its base URL.
func start(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	s := New(opts)
	base := s.Start()
	t.Cleanup(s.Close)
	return s, base
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	// A malformed body (MalformedEvery) is left in raw only.
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && json.Valid(raw) {
		require.NoError(t, json.Unmarshal(raw, &out.body), string(raw))
	}
	return out
}

func postToken(t *testing.T, base string, form url.Values, user, pass string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/token", strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	return do(t, req)
}

// token mints a token with the default credentials.
func token(t *testing.T, base string) string {
	t.Helper()
	res := postToken(t, base, url.Values{"grant_type": {"client_credentials"}}, DefaultClientID, DefaultClientSecret)
	require.Equal(t, http.StatusOK, res.status, res.raw)
	return res.body["access_token"].(string)
}

func get(t *testing.T, rawURL, tok string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(t, req)
}

// requireAPIError checks the regular error object.
func requireAPIError(t *testing.T, res response, status int, msg string) {
	t.Helper()
	require.Equal(t, status, res.status, res.raw)
	e, ok := res.body["error"].(map[string]any)
	require.True(t, ok, res.raw)
	require.Equal(t, float64(status), e["status"])
	if msg != "" {
		require.Equal(t, msg, e["message"])
	}
}

// followAll pages from first until next is null, like a well-behaved
// client: it retries 429/5xx on the same URL and re-mints the token on 401.
// It returns the items and the number of faults absorbed.
func followAll(t *testing.T, base, first string) (items []map[string]any, faults int) {
	t.Helper()
	tok := token(t, base)
	next := first
	for next != "" {
		res := get(t, next, tok)
		switch {
		case res.status == http.StatusUnauthorized:
			tok = token(t, base)
			faults++
			continue
		case res.status == http.StatusTooManyRequests || res.status >= 500:
			faults++
			require.Less(t, faults, 100, "too many faults")
			continue
		}
		require.Equal(t, http.StatusOK, res.status, res.raw)
		for _, it := range res.body["items"].([]any) {
			items = append(items, it.(map[string]any))
		}
		next = ""
		if n, ok := res.body["next"].(string); ok {
			require.True(t, strings.HasPrefix(n, base+"/v1/"), n)
			next = n
		} else {
			require.Nil(t, res.body["next"])
		}
	}
	return items, faults
}
