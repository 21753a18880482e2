package spotify_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
