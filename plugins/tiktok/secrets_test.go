package tiktok

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// emitted is everything a source handed the host through rec, as text:
// payload names and bytes, row values, checkpoints, logs and problems.
// Configuration updates are left out: they are the one place a rotated
// refresh token must go, and the host keeps them encrypted.
func emitted(rec *sdktest.Recorder, streams []sdk.Stream) string {
	var b strings.Builder
	for _, p := range rec.Payloads() {
		b.WriteString(p.Name + "\n")
		b.Write(p.Data)
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "%+v\n", pr)
		}
	}
	for _, s := range streams {
		for _, r := range rec.Rows(s.Name) {
			fmt.Fprintf(&b, "%v\n", r)
		}
		for _, cp := range rec.Checkpoints(s.Name) {
			b.Write(cp)
			b.WriteString("\n")
		}
	}
	b.WriteString(logText(rec))
	return b.String()
}

// TestNoSecretInAnythingEmitted runs the source through rotations, token
// expiry, retries, the Business API, a replay of what it landed (with the
// full configuration), a Check with a bad token and a run that fails on a
// revoked authorisation, and greps everything it emitted
// and every error for the client secret, every refresh token (the first and
// each rotated one), every access token and the business token.
func TestNoSecretInAnythingEmitted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{
		VideoCount: 30, ExpireTokensEvery: 3, RateLimitEvery: 4, InBodyRateLimit: true,
		ServerErrors: emulator.Burst{After: 5, Count: 1}, MalformedJSON: emulator.Burst{After: 7, Count: 1},
		BusinessRateLimitEvery: 2,
	}))
	streams := Streams(true)
	var haystack strings.Builder
	var updates []map[string]string

	cfg := f.cfg
	var live landed
	for range 2 {
		rec, err := f.read(t, cfg, nil)
		require.NoError(t, err)
		haystack.WriteString(emitted(rec, streams))
		updates = append(updates, rec.ConfigUpdates()...)
		cfg = rec.Config(cfg)
		live.add(rec)
	}
	// A replay with the full configuration, and one of a file that is gone.
	paths := writePayloads(t, live.payloads)
	rec, err := replayRead(t, f.src, cfg, paths)
	require.NoError(t, err)
	requireSameOutput(t, live, rec)
	haystack.WriteString(emitted(rec, streams))
	_, err = replayRead(t, f.src, cfg, append(paths, filepath.Join(t.TempDir(), "gone.jsonl")))
	require.Error(t, err)
	haystack.WriteString(err.Error() + "\n")
	bad := sdk.Config{}
	for k, v := range cfg {
		bad[k] = v
	}
	bad[ParamBusinessAccessToken] = testBusinessToken + "-old"
	err = f.src.Check(t.Context(), bad)
	require.Error(t, err)
	haystack.WriteString(err.Error() + "\n")

	f.srv.Revoke()
	rec, err = f.read(t, cfg, nil)
	require.Error(t, err)
	haystack.WriteString(err.Error() + "\n")
	haystack.WriteString(emitted(rec, streams))
	_, err = f.read(t, f.cfg, nil) // the first, long rotated token
	require.Error(t, err)
	haystack.WriteString(err.Error() + "\n")

	secrets := []string{testClientSecret, testRefreshToken, testBusinessToken}
	require.GreaterOrEqual(t, len(updates), 4, "tokens rotated several times")
	for _, u := range updates {
		require.Len(t, u, 1)
		tok, ok := u[ParamRefreshToken]
		require.True(t, ok, "only refresh_token is ever updated: %v", mapsKeys(u))
		secrets = append(secrets, tok)
	}
	secrets = append(secrets, f.srv.AccessTokens()...)
	require.Greater(t, len(f.srv.AccessTokens()), 4)

	text := haystack.String()
	require.Contains(t, text, "rate_limit_exceeded", "the haystack holds the logs")
	require.Contains(t, text, `"request":{"method":"POST"`, "the haystack holds the payloads")
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, text, s, "a secret leaked")
	}
	// Not even the tell-tale prefixes of tokens.
	require.NotContains(t, text, "rft.")
	require.NotContains(t, text, "act.")
	require.NotContains(t, text, "Bearer")
	require.NotContains(t, text, "Access-Token")
}
