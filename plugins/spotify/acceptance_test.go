package spotify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/pipeline"
	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	plugintest.Cleanup()
	os.Exit(code)
}

// sampleRows is the number of rows in the sample exports of testdata/s4a.
const sampleRows = 3*28 + 4*28 + 2*10 + 8

// TestAcceptance runs the SDK's protocol acceptance test against the real
// plugin binary, launched the way the host launches it: the Web API from
// the emulator in both profiles together with the sample exports, and the
// exports alone (no API app), which are incremental.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/spotify/cmd/bedrot-source-spotify")
	s4a, err := filepath.Abs(filepath.Join("testdata", "s4a"))
	require.NoError(t, err)
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			srv := emulator.New(emulator.Options{Profile: profile, ShortPages: 4})
			base := srv.Start()
			t.Cleanup(srv.Close)
			cat := srv.Catalog()
			var ids []string
			for _, a := range cat.Artists {
				ids = append(ids, a.ID)
			}
			cfg := sdk.Config{
				"client_id":     emulator.DefaultClientID,
				"client_secret": emulator.DefaultClientSecret,
				"artist_ids":    strings.Join(ids, ","),
				"base_url":      base + "/v1",
				"token_url":     base + "/api/token",
				"s4a_dir":       s4a,
			}
			bad := sdk.Config{}
			for k, v := range cfg {
				bad[k] = v
			}
			bad["client_secret"] = "not-the-secret"
			sdktest.AcceptanceTest(t, sdktest.Driver{
				Binary:    bin,
				Config:    cfg,
				BadConfig: bad,
				WantRows:  int64(len(cat.Artists)+len(cat.Albums)+len(cat.Tracks)) + sampleRows,
			})
		})
	}
	t.Run("exports only", func(t *testing.T) {
		t.Parallel()
		sdktest.AcceptanceTest(t, sdktest.Driver{
			Binary:      bin,
			Config:      sdk.Config{"s4a_dir": s4a},
			BadConfig:   sdk.Config{"s4a_dir": filepath.Join(t.TempDir(), "missing")},
			WantRows:    sampleRows,
			Incremental: true,
		})
	})
}

// TestReplayThroughTheHost runs the real plugin binary in a lake: a run
// lands the Web API payloads and the sample exports (names with Ø, Þ and ó
// included), then `bedrot replay` hands them back, and the host finds every
// payload under its landing name with the same SHA-256 and the same number
// of rows, without a request to the API.
func TestReplayThroughTheHost(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/spotify/cmd/bedrot-source-spotify")
	srv := emulator.New(emulator.Options{ShortPages: 3})
	base := srv.Start()
	t.Cleanup(srv.Close)
	var ids []string
	for _, a := range srv.Catalog().Artists {
		ids = append(ids, a.ID)
	}
	s4a, err := filepath.Abs(filepath.Join("testdata", "s4a"))
	require.NoError(t, err)
	cfg := sdk.Config{
		"client_id":     emulator.DefaultClientID,
		"client_secret": emulator.DefaultClientSecret,
		"artist_ids":    strings.Join(ids, ","),
		"base_url":      base + "/v1",
		"token_url":     base + "/api/token",
		"s4a_dir":       s4a,
	}
	lc := config.Default()
	lc.Lake = t.TempDir()
	ctx := t.Context()
	lk, err := lake.Open(ctx, lc, lake.Options{Create: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = lk.Close() })
	_, err = lk.Plugins.Install(ctx, bin)
	require.NoError(t, err)

	first, err := lk.Pipeline.Ingest(ctx, pipeline.Request{Source: "spotify", Config: cfg})
	require.NoError(t, err)
	require.Equal(t, "succeeded", first.Status, first.Error)
	want := map[string]pipeline.PayloadResult{}
	for _, p := range first.Payloads {
		require.Equal(t, "ingested", p.Status, p.Name)
		want[p.Name] = p
	}
	require.Len(t, want, 3*len(ids)+10)

	before := srv.TotalRequests()
	again, err := lk.Pipeline.Replay(ctx, pipeline.Request{Source: "spotify", Config: cfg})
	require.NoError(t, err)
	require.Equal(t, "succeeded", again.Status, again.Error)
	require.Equal(t, before, srv.TotalRequests(), "a replay calls no API")
	require.Equal(t, first.Rows, again.Rows)
	require.Len(t, again.Payloads, len(want))
	for _, p := range again.Payloads {
		w, ok := want[p.Name]
		require.True(t, ok, p.Name)
		require.Equal(t, "ingested", p.Status, p.Name)
		require.Equal(t, w.Digest, p.Digest, p.Name)
		require.Equal(t, w.Records, p.Records, p.Name)
		require.Len(t, p.RawFiles, len(w.RawFiles), p.Name)
	}
}
