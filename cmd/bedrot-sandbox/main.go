// Command bedrot-sandbox serves local emulators of the Spotify Web API and
// the TikTok Display and Business APIs, so that `make demo`, the end-to-end
// tests and a newcomer can run the Spotify and TikTok connectors without
// internet access or real credentials. It is a development tool, not part of
// a production install: the data it serves is generated.
//
// It prints, or writes to -env, the BEDROT_SOURCES__… settings that point
// the connectors at it, then serves until interrupted. Fault flags make the
// emulators misbehave the way the real APIs do (rate limits, expiring
// tokens, 5xx bursts, slow answers).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	spotifyemu "github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	tiktokemu "github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bedrot-sandbox:", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("bedrot-sandbox", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: bedrot-sandbox [flags]

Serves local emulators of the Spotify and TikTok APIs (SANDBOX data, not the
real services) and prints the settings that point bedrot's connectors at them:

  eval "$(bedrot-sandbox -env /tmp/sandbox.env & sleep 1; cat /tmp/sandbox.env)"

Flags:
`)
		fs.PrintDefaults()
	}
	envFile := fs.String("env", "", "write the settings to this file (export lines) instead of stdout")
	videos := fs.Int("tiktok-videos", 45, "videos on the sandbox TikTok account")
	rateEvery := fs.Int("rate-limit-every", 0, "answer every Nth API request of both emulators with a rate-limit error (0: never)")
	slow := fs.Duration("slow", 0, "delay every API answer of both emulators by this long")
	s4aDir := fs.String("s4a-dir", "", "also point the Spotify connector at this folder of Spotify for Artists CSV exports")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}

	sp := spotifyemu.New(spotifyemu.Options{RateLimitEvery: *rateEvery, SlowDelay: *slow})
	spURL := sp.Start()
	defer sp.Close()

	// A new refresh token each start: a lake that stored the token a
	// previous sandbox rotated sees a re-authorised account, as it should.
	refresh := "sandbox-refresh-" + randomHex()
	tt := tiktokemu.New(tiktokemu.Options{
		ClientKey: "sandbox-client-key", ClientSecret: "sandbox-client-secret-" + randomHex(),
		RefreshToken: refresh, VideoCount: *videos, Seed: 7,
		RateLimitEvery: *rateEvery, SlowDelay: *slow,
		BusinessAccessToken: "sandbox-business-token-" + randomHex(),
	})
	ttURL := tt.Start()
	defer tt.Close()

	opts := tt.Options()
	settings := map[string]string{
		"SPOTIFY__CONFIG__BASE_URL":             spURL + "/v1",
		"SPOTIFY__CONFIG__TOKEN_URL":            spURL + "/api/token",
		"SPOTIFY__CONFIG__CLIENT_ID":            spotifyemu.DefaultClientID,
		"SPOTIFY__CONFIG__CLIENT_SECRET":        spotifyemu.DefaultClientSecret,
		"SPOTIFY__CONFIG__ARTIST_IDS":           strings.Join([]string{spotifyemu.MaraEllisID, spotifyemu.OrjanOdegardID, spotifyemu.OskerWyldID}, ","),
		"TIKTOK__CONFIG__BASE_URL":              ttURL,
		"TIKTOK__CONFIG__TOKEN_URL":             ttURL + "/v2/oauth/token/",
		"TIKTOK__CONFIG__CLIENT_KEY":            opts.ClientKey,
		"TIKTOK__CONFIG__CLIENT_SECRET":         opts.ClientSecret,
		"TIKTOK__CONFIG__REFRESH_TOKEN":         refresh,
		"TIKTOK__CONFIG__BUSINESS_ID":           tt.Account().OpenID,
		"TIKTOK__CONFIG__BUSINESS_ACCESS_TOKEN": opts.BusinessAccessToken,
		"TIKTOK__CONFIG__BUSINESS_BASE_URL":     ttURL,
	}
	if *s4aDir != "" {
		abs, err := filepath.Abs(*s4aDir)
		if err != nil {
			return err
		}
		settings["SPOTIFY__CONFIG__S4A_DIR"] = abs
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# SANDBOX endpoints: local emulators of Spotify (%s) and TikTok (%s), not the real APIs\n", spURL, ttURL)
	for _, k := range keys {
		fmt.Fprintf(&b, "export BEDROT_SOURCES__%s=%s\n", k, settings[k])
	}
	if *envFile != "" {
		tmp := *envFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, *envFile); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bedrot-sandbox: SANDBOX Spotify at %s, TikTok at %s; settings in %s\n", spURL, ttURL, *envFile)
	} else {
		fmt.Print(b.String())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	shutdown := time.AfterFunc(5*time.Second, func() { os.Exit(0) })
	defer shutdown.Stop()
	return nil
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
