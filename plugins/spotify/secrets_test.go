package spotify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// everything renders all a recorder holds: payload names and bytes, rows,
// checkpoints, configuration updates and logs with their key/values.
func everything(r *sdktest.Recorder) string {
	var b strings.Builder
	for _, p := range r.Payloads() {
		fmt.Fprintln(&b, p.Name, p.MediaType, string(p.Data), p.Problems)
	}
	for _, s := range Streams() {
		for _, row := range r.Rows(s.Name) {
			fmt.Fprintln(&b, row)
		}
		for _, cp := range r.Checkpoints(s.Name) {
			fmt.Fprintln(&b, string(cp))
		}
	}
	fmt.Fprintln(&b, r.ConfigUpdates())
	b.WriteString(describe(r))
	return b.String()
}

// No client secret, access token or Authorization header reaches payloads,
// rows, states, logs or errors, whatever goes wrong on the way (tokens
// expiring and renewed, retries, malformed answers, a wrong secret).
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const secret = "sEcReT-0123456789abcdef"
	const wrong = "wRoNg-fedcba9876543210"
	srv, cfg := startEmulator(t, emulator.Options{
		ClientSecret: secret, ShortPages: 2, ExpireTokenAfter: 3, RateLimitEvery: 5, ServerErrors: 2, MalformedEvery: 7,
		SlowEvery: 29, SlowDelay: 10 * time.Second,
	})
	cfg = withConfig(cfg, ParamS4ADir, sampleDir)
	var dump strings.Builder

	src := fixedSource()
	src.timeout = 500 * time.Millisecond
	e := newEmitRecorder(t)
	require.NoError(t, src.Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))
	require.NotEmpty(t, e.Rows(StreamTracks))
	dump.WriteString(everything(e))

	for _, bad := range []sdk.Config{withConfig(cfg, ParamClientSecret, wrong), withConfig(cfg, ParamArtistIDs, emulator.SpotifyID("nobody"))} {
		e := newEmitRecorder(t)
		err := fixedSource().Read(t.Context(), sdk.ReadRequest{Config: bad}, e)
		require.Error(t, err)
		dump.WriteString(err.Error() + "\n")
		dump.WriteString(everything(e))
		err = fixedSource().Check(t.Context(), bad)
		require.Error(t, err)
		dump.WriteString(err.Error() + "\n")
	}
	_, err := fixedSource().Discover(t.Context(), cfg)
	require.NoError(t, err)

	tokens := srv.IssuedTokens()
	require.Greater(t, len(tokens), 2, "tokens were renewed along the way")
	text := dump.String()
	require.Contains(t, text, "access token rejected", "the dump holds the retry logs")
	for _, s := range append([]string{secret, wrong, "Bearer", "Authorization", "Basic "}, tokens...) {
		require.NotContains(t, text, s)
	}
}
