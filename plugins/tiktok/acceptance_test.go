package tiktok_test

import (
	"os"
	"testing"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
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
// emulator: once with the Display API only and once with the Accounts API
// too. The refresh token rotates on every run; the acceptance test passes
// the rotated one on to its second read, which fails unless the plugin
// handed it over.
func TestAcceptance(t *testing.T) {
	t.Parallel()
	bin := plugintest.Build(t, "plugins/tiktok/cmd/bedrot-source-tiktok")
	for _, withBusiness := range []bool{false, true} {
		name := "display"
		if withBusiness {
			name = "display+business"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := emulator.Options{
				ClientKey: "ck_acceptance", ClientSecret: "cs_acceptance_secret", RefreshToken: "rft.acceptance",
				VideoCount: 57, Seed: 3,
			}
			if withBusiness {
				opts.BusinessID, opts.BusinessAccessToken = "-000acceptbiz", "biz_acceptance_token"
			}
			srv := emulator.New(opts)
			base := srv.Start()
			t.Cleanup(srv.Close)
			cfg := sdk.Config{
				"client_key":    opts.ClientKey,
				"client_secret": opts.ClientSecret,
				"refresh_token": opts.RefreshToken,
				"base_url":      base,
				"token_url":     base + "/v2/oauth/token/",
			}
			want := int64(1 + opts.VideoCount)
			bad := sdk.Config{"client_key": "ck", "client_secret": "cs", "refresh_token": "rft.x", "base_url": "not a url"}
			if withBusiness {
				cfg["business_id"] = opts.BusinessID
				cfg["business_access_token"] = opts.BusinessAccessToken
				cfg["business_base_url"] = base
				// The first run reads the settled days of the look-back:
				// from 59 days ago to three days ago.
				want += 57
				bad = sdk.Config{}
				for k, v := range cfg {
					bad[k] = v
				}
				bad["business_access_token"] = "not-the-token"
			}
			sdktest.AcceptanceTest(t, sdktest.Driver{
				Binary:    bin,
				Config:    cfg,
				BadConfig: bad,
				WantRows:  want,
			})
			if got := srv.Counts().Refreshed; got != 2 {
				t.Errorf("the emulator refreshed %d times, want 2 (one per read, each with the token the last one rotated)", got)
			}
			if got := srv.Counts().TokenErrors; got != 0 {
				t.Errorf("%d token requests failed; a rotated refresh token was not passed on", got)
			}
		})
	}
}
