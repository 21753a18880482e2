package daemon_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/daemon"
	"github.com/bedrot-label/bedrot/host/lake"
)

// With daemon.api_token set, /api/v1 answers only requests that carry it;
// Prometheus and health checks need none.
func TestAPITokenGuardsTheAPI(t *testing.T) {
	t.Parallel()
	const token = "7f3c9a-api-token"
	f := startWith(t, func(cfg *config.Config) { cfg.Daemon.APIToken = token })

	_, err := f.api.Sources(t.Context())
	require.ErrorContains(t, err, "requires its API token: set daemon.api_token")
	wrong := daemon.NewClient(f.d.Addr())
	wrong.Token = "not-" + token
	_, err = wrong.Trigger(t.Context(), "distrokid", "")
	require.ErrorContains(t, err, "refused the API token given")
	require.NotContains(t, err.Error(), token)

	f.api.Token = token
	srcs, err := f.api.Sources(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, srcs)
	ji, err := f.api.Trigger(t.Context(), "distrokid", "")
	require.NoError(t, err)
	f.wait(t, ji.ID, "completed")

	// Behind a proxy on this machine that passes its own host name on, the
	// token is what counts.
	req, err := http.NewRequest(http.MethodGet, "http://"+f.d.Addr()+"/api/v1/sources", nil)
	require.NoError(t, err)
	req.Host = "bedrot.label.example"
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, err := http.Get("http://" + f.d.Addr() + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}

	// A web page the operator visits cannot make the browser trigger a run,
	// token or not: the browser marks the request cross-site.
	req, err = http.NewRequest(http.MethodPost, "http://"+f.d.Addr()+"/api/v1/sources/distrokid/trigger", strings.NewReader(""))
	require.NoError(t, err)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

// A daemon on loopback refuses requests that name another host: a page
// reaching it through DNS rebinding.
func TestLoopbackAPIRefusesOtherHostNames(t *testing.T) {
	t.Parallel()
	f := start(t)
	req, err := http.NewRequest(http.MethodGet, "http://"+f.d.Addr()+"/api/v1/sources", nil)
	require.NoError(t, err)
	req.Host = "attacker.example"
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, err = f.api.Sources(t.Context())
	require.NoError(t, err, "a client that names the loopback address is served")
}

// A daemon whose API would listen beyond this machine without a token does
// not start, and says how to give it one.
func TestDaemonDoesNotListenBeyondLoopbackWithoutAToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Lake = filepath.Join(dir, "lake")
	cfg.Secrets.KeyPath = filepath.Join(dir, "secrets.key")
	l, err := lake.Open(t.Context(), cfg, lake.Options{Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	d, err := daemon.New(t.Context(), l, daemon.Options{Grace: time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err = d.Serve(ctx, "0.0.0.0:0")
	require.Error(t, err)
	require.True(t, errors.Is(err, config.ErrBadConfiguration), err)
	require.ErrorContains(t, err, "beyond this machine, without a token: set daemon.api_token (BEDROT_DAEMON_API_TOKEN")
	require.Empty(t, d.Addr(), "nothing listens")
}
