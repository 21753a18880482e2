package tiktok

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// Configuration parameter names.
const (
	// ParamClientKey is the TikTok app's client key.
	ParamClientKey = "client_key"
	// ParamClientSecret is the TikTok app's client secret.
	ParamClientSecret = "client_secret"
	// ParamRefreshToken is the user refresh token of the authorised account.
	// TikTok replaces it on every refresh; the connector hands each new one
	// to BEDROT, which stores it in place of the old one.
	ParamRefreshToken = "refresh_token"
	// ParamBaseURL is the Display API host.
	ParamBaseURL = "base_url"
	// ParamTokenURL is the OAuth token endpoint.
	ParamTokenURL = "token_url"
	// ParamMaxCount is the page size of /v2/video/list/ (1–20).
	ParamMaxCount = "max_count"
	// ParamBusinessID turns the business_metrics stream on: the business
	// account's business_id.
	ParamBusinessID = "business_id"
	// ParamBusinessAccessToken is the Accounts API access token.
	ParamBusinessAccessToken = "business_access_token"
	// ParamBusinessBaseURL is the Accounts API (API for Business) host.
	ParamBusinessBaseURL = "business_base_url"
	// ParamFiles is set by `bedrot replay` only: the landing payloads to
	// re-read, separated by the OS path-list separator, instead of calling
	// TikTok. When it is set no other parameter is needed or read.
	ParamFiles = "files"
)

// DefaultBusinessBaseURL is the host of the TikTok API for Business.
const DefaultBusinessBaseURL = "https://business-api.tiktok.com"

// Spec describes the connector and its parameters.
func Spec() sdk.Spec {
	return sdk.Spec{
		Name:    "tiktok",
		Version: Version,
		Description: "TikTok account snapshots from the Display API v2 (profile counters and every public video with its lifetime views, likes, " +
			"comments and shares, one dated snapshot per run), and optionally daily account metrics from the Accounts API (API for Business).",
		Author: "BEDROT",
		Params: []sdk.Param{
			{Name: ParamClientKey, Required: true,
				Description: "Client key of your TikTok app (developers.tiktok.com → Manage apps → your app → App details). The app needs Login Kit with the scopes user.info.basic, user.info.profile, user.info.stats and video.list."},
			{Name: ParamClientSecret, Required: true, Secret: true,
				Description: "Client secret of the same TikTok app (shown next to the client key)."},
			{Name: ParamRefreshToken, Required: true, Secret: true,
				Description: "Refresh token from authorising the app on the label's TikTok account (the refresh_token of the OAuth token response, starting rft.). " +
					"TikTok issues a new one on every refresh and the old one stops working; BEDROT stores each new one automatically, so set this only once, or again after re-authorising."},
			{Name: ParamBaseURL, Default: displayapi.DefaultBaseURL,
				Description: "Display API host. Leave the default; tests and the demo point it at a local emulator."},
			{Name: ParamTokenURL, Default: displayapi.DefaultTokenURL,
				Description: "OAuth token endpoint used to refresh the access token. Leave the default."},
			{Name: ParamMaxCount, Default: strconv.Itoa(displayapi.PageSize),
				Description: "Videos asked for per page of /v2/video/list/, 1 to 20 (TikTok's maximum and the default)."},
			{Name: ParamBusinessID,
				Description: "Optional: business_id of a TikTok business account (its open_id in the API for Business) to also read its daily account metrics (stream business_metrics). Leave empty without Accounts API access."},
			{Name: ParamBusinessAccessToken, Secret: true,
				Description: "Accounts API access token for business_id (Access-Token, from the API for Business OAuth with scope user.insights). Required when business_id is set."},
			{Name: ParamBusinessBaseURL, Default: DefaultBusinessBaseURL,
				Description: "API for Business host. Leave the default; tests point it at a local emulator."},
			{Name: sdk.ParamWindowStart,
				Description: "Set by `bedrot backfill`: first day (YYYY-MM-DD) of business_metrics to read again, within the Accounts API's 60 days; leave empty."},
			{Name: sdk.ParamWindowEnd,
				Description: "Set by `bedrot backfill`: last day (YYYY-MM-DD) of business_metrics to read again; leave empty."},
			{Name: ParamFiles,
				Description: "Set by `bedrot replay`: landing payloads to re-read instead of calling the API; leave empty."},
		},
	}
}

// config is the parsed plugin configuration.
type config struct {
	clientKey, clientSecret, refreshToken string
	baseURL, tokenURL                     string
	maxCount                              int
	businessID, businessToken             string
	businessBaseURL                       string
	// windowStart and windowEnd bound a backfill of business_metrics.
	windowStart, windowEnd time.Time
	// files are the landing payloads to replay; when set, the fields
	// above are not read.
	files []string
}

// replay reports whether the run re-reads landing payloads instead of
// calling TikTok.
func (c config) replay() bool { return len(c.files) > 0 }

// business reports whether the business_metrics stream is configured.
func (c config) business() bool { return c.businessID != "" }

// parseConfig reads and checks cfg. Every problem is a configuration error
// naming the parameter; no value of a secret parameter is ever quoted.
// With files set (a replay) only files is read: a replay calls no API.
func parseConfig(cfg sdk.Config) (config, error) {
	get := func(k string) string { return strings.TrimSpace(cfg[k]) }
	var files []string
	for _, f := range filepath.SplitList(cfg[ParamFiles]) {
		if f = strings.TrimSpace(f); f != "" {
			files = append(files, f)
		}
	}
	if len(files) > 0 {
		return config{files: files}, nil
	}
	c := config{
		clientKey:       get(ParamClientKey),
		clientSecret:    get(ParamClientSecret),
		refreshToken:    get(ParamRefreshToken),
		baseURL:         strings.TrimRight(get(ParamBaseURL), "/"),
		tokenURL:        get(ParamTokenURL),
		maxCount:        displayapi.PageSize,
		businessID:      get(ParamBusinessID),
		businessToken:   get(ParamBusinessAccessToken),
		businessBaseURL: strings.TrimRight(get(ParamBusinessBaseURL), "/"),
	}
	if c.baseURL == "" {
		c.baseURL = displayapi.DefaultBaseURL
	}
	if c.tokenURL == "" {
		c.tokenURL = displayapi.DefaultTokenURL
	}
	if c.businessBaseURL == "" {
		c.businessBaseURL = DefaultBusinessBaseURL
	}
	var missing []string
	for _, p := range []struct{ name, value string }{
		{ParamClientKey, c.clientKey}, {ParamClientSecret, c.clientSecret}, {ParamRefreshToken, c.refreshToken},
	} {
		if p.value == "" {
			missing = append(missing, p.name)
		}
	}
	if c.businessID != "" && c.businessToken == "" {
		missing = append(missing, ParamBusinessAccessToken+" (needed because "+ParamBusinessID+" is set)")
	}
	if len(missing) > 0 {
		return c, sdk.ConfigError(fmt.Errorf("tiktok: missing required parameter(s): %s", strings.Join(missing, ", ")))
	}
	for _, w := range []struct {
		name string
		dst  *time.Time
	}{{sdk.ParamWindowStart, &c.windowStart}, {sdk.ParamWindowEnd, &c.windowEnd}} {
		if v := get(w.name); v != "" {
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return c, sdk.ConfigError(fmt.Errorf("tiktok: %s %q must be a date like 2026-01-31", w.name, v))
			}
			*w.dst = d
		}
	}
	if c.windowStart.IsZero() != c.windowEnd.IsZero() || c.windowEnd.Before(c.windowStart) {
		return c, sdk.ConfigError(fmt.Errorf("tiktok: a backfill needs both %s and %s, the start on or before the end", sdk.ParamWindowStart, sdk.ParamWindowEnd))
	}
	if !c.windowStart.IsZero() && !c.business() {
		return c, sdk.ConfigError(fmt.Errorf("tiktok: only business_metrics can be backfilled, and it needs %s", ParamBusinessID))
	}
	if v := get(ParamMaxCount); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > displayapi.PageSize {
			return c, sdk.ConfigError(fmt.Errorf("tiktok: %s %q must be a whole number from 1 to %d", ParamMaxCount, v, displayapi.PageSize))
		}
		c.maxCount = n
	}
	for _, p := range []struct{ name, value string }{
		{ParamBaseURL, c.baseURL}, {ParamTokenURL, c.tokenURL}, {ParamBusinessBaseURL, c.businessBaseURL},
	} {
		u, err := url.Parse(p.value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return c, sdk.ConfigError(fmt.Errorf("tiktok: %s must be an http(s) URL such as https://open.tiktokapis.com, without credentials", p.name))
		}
	}
	return c, nil
}
