package spotify_test

import (
	"os"
	"strings"
	"testing"

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

// TestAcceptance runs the SDK's protocol acceptance test against the real
// plugin binary, launched the way the host launches it, reading from the
// emulator in both profiles.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/spotify/cmd/bedrot-source-spotify")
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			srv := emulator.New(emulator.Options{Profile: profile})
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
				WantRows:  int64(len(cat.Artists) + len(cat.Albums) + len(cat.Tracks)),
			})
		})
	}
}
