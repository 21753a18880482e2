package apiauth_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/apiauth"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("served")) })
	type req struct {
		method, host, auth, fetchSite string
	}
	cases := []struct {
		name     string
		token    string
		loopback bool
		req      req
		status   int
	}{
		{"loopback, no token: a local client", "", true, req{"POST", "127.0.0.1:8080", "", ""}, http.StatusOK},
		{"loopback: localhost by name", "", true, req{"GET", "localhost:8080", "", ""}, http.StatusOK},
		{"loopback: IPv6", "", true, req{"GET", "[::1]:8080", "", ""}, http.StatusOK},
		{"loopback: a rebinding page's host", "", true, req{"GET", "evil.example:8080", "", ""}, http.StatusForbidden},
		{"a cross-site browser POST", "", true, req{"POST", "127.0.0.1:8080", "", "cross-site"}, http.StatusForbidden},
		{"a same-origin browser POST", "", true, req{"POST", "127.0.0.1:8080", "", "same-origin"}, http.StatusOK},
		{"token: none sent", "s3cret-token", false, req{"GET", "bedrot.internal:8080", "", ""}, http.StatusUnauthorized},
		{"token: wrong", "s3cret-token", false, req{"GET", "bedrot.internal:8080", "Bearer s3cret-tokeN", ""}, http.StatusUnauthorized},
		{"token: a prefix of it", "s3cret-token", false, req{"GET", "bedrot.internal:8080", "Bearer s3cret", ""}, http.StatusUnauthorized},
		{"token: basic auth instead", "s3cret-token", false, req{"GET", "bedrot.internal:8080", "Basic czNjcmV0LXRva2Vu", ""}, http.StatusUnauthorized},
		{"token: right", "s3cret-token", false, req{"GET", "bedrot.internal:8080", "Bearer s3cret-token", ""}, http.StatusOK},
		{"token: scheme in lower case", "s3cret-token", false, req{"POST", "bedrot.internal:8080", "bearer s3cret-token", ""}, http.StatusOK},
		{"token and loopback: the token is still required", "s3cret-token", true, req{"GET", "127.0.0.1:8080", "", ""}, http.StatusUnauthorized},
		{"token and loopback: a proxy's host name, with the token", "s3cret-token", true, req{"GET", "bedrot.label.example", "Bearer s3cret-token", ""}, http.StatusOK},
		{"token and loopback: a proxy's host name, without it", "s3cret-token", true, req{"GET", "bedrot.label.example", "", ""}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(c.req.method, "http://"+c.req.host+"/api/v1/sources", nil)
			if c.req.auth != "" {
				r.Header.Set("Authorization", c.req.auth)
			}
			if c.req.fetchSite != "" {
				r.Header.Set("Sec-Fetch-Site", c.req.fetchSite)
			}
			w := httptest.NewRecorder()
			apiauth.Guard(ok, c.token, c.loopback).ServeHTTP(w, r)
			require.Equal(t, c.status, w.Code, w.Body.String())
			if c.status == http.StatusOK {
				require.Equal(t, "served", w.Body.String())
				return
			}
			require.Equal(t, "application/json", w.Header().Get("Content-Type"))
			require.Contains(t, w.Body.String(), `"error"`)
			require.NotContains(t, w.Body.String(), "s3cret", "a refusal never echoes the token")
			if c.status == http.StatusUnauthorized {
				require.Equal(t, `Bearer realm="bedrot"`, w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestCheckExposure(t *testing.T) {
	t.Parallel()
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		require.NoError(t, err)
		return a
	}
	require.NoError(t, apiauth.CheckExposure(tcp("127.0.0.1:8080"), "", "the daemon's API", "daemon.api_token"))
	require.NoError(t, apiauth.CheckExposure(tcp("[::1]:8080"), "", "the daemon's API", "daemon.api_token"))
	require.NoError(t, apiauth.CheckExposure(tcp("0.0.0.0:8080"), "t0ken", "the daemon's API", "daemon.api_token"))
	err := apiauth.CheckExposure(tcp("0.0.0.0:8080"), "", "the daemon's API", "daemon.api_token (BEDROT_DAEMON_API_TOKEN)")
	require.EqualError(t, err, "the daemon's API listens on 0.0.0.0:8080, beyond this machine, without a token: "+
		"set daemon.api_token (BEDROT_DAEMON_API_TOKEN), which clients then send as a bearer token, or listen on 127.0.0.1")
	require.Error(t, apiauth.CheckExposure(tcp("10.1.2.3:8765"), "", "bedrot mcp", "agents.mcp_token"))
}
