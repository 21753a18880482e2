// Package spotify is the BEDROT source connector for Spotify. It reads two
// kinds of input, each optional, so a label with only an API app, or only
// Spotify for Artists downloads, can use it:
//
//   - The Web API (client_id, client_secret, artist_ids): snapshots of the
//     configured artists, all their releases and every track of those
//     releases with its ISRC (streams artists, albums, tracks).
//   - Spotify for Artists CSV exports dropped into a folder (s4a_dir): the
//     audience timeline, per-song timelines, the songs table and the
//     playlists table (streams s4a_audience_timeline, s4a_song_timeline,
//     s4a_songs, s4a_playlists).
//
// # Web API
//
// It authenticates with the client-credentials flow through package webapi,
// which also handles paging, retries (429 Retry-After, 5xx and malformed or
// slow answers with backoff) and the Development-Mode cuts of 2026
// (sources.md §2.1): in Development Mode artist followers and popularity and
// track popularity are absent, and the connector writes them as null, never
// as 0; the removed batch GET /tracks?ids= endpoint is replaced by one
// request per track.
//
// A snapshot is taken one configured artist at a time, in the order of
// artist_ids. Per artist and per stream the connector emits one payload —
// JSON Lines, one API response per line with its request (see capture.go),
// never a token, named after the stream, the snapshot and the artist (see
// names.go) — then the rows made from that payload's lines, then a
// checkpoint (APIState). A
// release listed by several configured artists belongs to the first of them
// in artist_ids; the albums and tracks states remember which releases are
// done, so a resumed run makes the same choice. A run that stops half-way
// leaves a state from which the next run, if it starts within 12 hours,
// finishes the same snapshot (same snapshot_at) from the next artist, with
// no row twice and none missing; a finished snapshot is followed by a new
// one.
//
// # Spotify for Artists exports
//
// Each new or changed *.csv file in s4a_dir (by name and SHA-256, see
// S4AState) is streamed to the host byte for byte as one text/csv payload,
// named s4a-<file name> with the characters the host would change escaped
// (see names.go), and parsed on the way into the stream its header says
// (see s4a.go). A file with a bad row is ended with problems naming file,
// line and field, so the host quarantines it; it is not recorded as read,
// so it is read again once fixed.
//
// # Replay
//
// With the files parameter set (by `bedrot replay`), Read calls no API and
// reads no s4a_dir: it hands each of those landing payloads back under its
// file name, byte for byte, with the rows it gave when first read, rebuilt
// by the same code from the payload's name and bytes alone (see replay.go).
package spotify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/spotify/webapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// Version is the connector's version, reported in its Spec.
const Version = "0.3.0"

// Configuration parameter names.
const (
	// ParamClientID is the Spotify app's client id.
	ParamClientID = "client_id"
	// ParamClientSecret is the Spotify app's client secret.
	ParamClientSecret = "client_secret"
	// ParamArtistIDs is a comma-separated list of Spotify artist ids.
	ParamArtistIDs = "artist_ids"
	// ParamBaseURL is the Web API base URL.
	ParamBaseURL = "base_url"
	// ParamTokenURL is the client-credentials token endpoint.
	ParamTokenURL = "token_url"
	// ParamS4ADir is the folder Spotify for Artists exports are dropped into.
	ParamS4ADir = "s4a_dir"
	// ParamFiles lists landing payloads to re-read (os.PathListSeparator
	// between paths); `bedrot replay` sets it. See replay.go.
	ParamFiles = "files"
)

// batchRows is the most rows put in one record batch.
const batchRows = 4096

// httpTimeout bounds each HTTP request.
const httpTimeout = 30 * time.Second

// Spec describes the connector and its parameters.
func Spec() sdk.Spec {
	return sdk.Spec{
		Name:    "spotify",
		Version: Version,
		Description: "Spotify: Web API catalog snapshots of the configured artists, their releases and tracks with ISRCs " +
			"(client-credentials app; works in Development Mode, where popularity and followers are null), " +
			"and Spotify for Artists CSV exports dropped into a folder. Configure either or both.",
		Author: "BEDROT",
		Params: []sdk.Param{
			{Name: ParamClientID, Description: "Client id of your Spotify app (developer.spotify.com dashboard). " +
				"Needed, with client_secret and artist_ids, for the Web API streams; leave empty to read only exports."},
			{Name: ParamClientSecret, Description: "Client secret of your Spotify app. Needed for the Web API streams.", Secret: true},
			{Name: ParamArtistIDs, Description: "Comma-separated Spotify artist ids to snapshot (the 22-character id in the artist's " +
				"open.spotify.com URL), in the order releases shared by several of them are attributed. Needed for the Web API streams."},
			{Name: ParamBaseURL, Description: "Web API base URL.", Default: webapi.DefaultBaseURL},
			{Name: ParamTokenURL, Description: "Client-credentials token endpoint.", Default: webapi.DefaultTokenURL},
			{Name: ParamS4ADir, Description: "Folder you save Spotify for Artists CSV exports into (audience timeline, " +
				"song timelines, songs and playlists tables). Each new or changed file is read once. Leave empty to read only the Web API."},
			{Name: ParamFiles, Description: "Set by `bedrot replay`: landing payloads to re-read instead of calling the API; leave empty."},
		},
	}
}

// Source reads Spotify. Create it with NewSource.
type Source struct {
	sdk.UnimplementedSource
	// now returns the current time (snapshot_at, received_at, read_at);
	// tests may replace it.
	now func() time.Time
	// transport sends HTTP requests (default http.DefaultTransport).
	transport http.RoundTripper
	// sleep waits between retries; nil means a real timer. Tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// timeout bounds each HTTP request; 0 means httpTimeout.
	timeout time.Duration
}

// NewSource returns the Spotify source.
func NewSource() sdk.Source { return &Source{now: time.Now, transport: http.DefaultTransport} }

// config is the parsed plugin configuration.
type config struct {
	// api is set when the Web API is configured.
	api                    bool
	clientID, clientSecret string
	artistIDs              []string
	baseURL, tokenURL      string
	basePath               string
	// s4aDir is the exports folder; empty when not configured.
	s4aDir string
	// files are the landing payloads to replay; when set, Read re-reads
	// them and nothing else (no API call, no s4a_dir).
	files []string
}

func parseConfig(cfg sdk.Config) (config, error) {
	c := config{
		clientID:     strings.TrimSpace(cfg[ParamClientID]),
		clientSecret: strings.TrimSpace(cfg[ParamClientSecret]),
		baseURL:      strings.TrimRight(strings.TrimSpace(cfg[ParamBaseURL]), "/"),
		tokenURL:     strings.TrimSpace(cfg[ParamTokenURL]),
		s4aDir:       strings.TrimSpace(cfg[ParamS4ADir]),
	}
	if c.baseURL == "" {
		c.baseURL = webapi.DefaultBaseURL
	}
	if c.tokenURL == "" {
		c.tokenURL = webapi.DefaultTokenURL
	}
	for f := range strings.SplitSeq(cfg[ParamFiles], string(os.PathListSeparator)) {
		if strings.TrimSpace(f) != "" {
			c.files = append(c.files, f)
		}
	}
	seen := map[string]bool{}
	for id := range strings.SplitSeq(cfg[ParamArtistIDs], ",") {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			c.artistIDs = append(c.artistIDs, id)
		}
	}
	c.api = c.clientID != "" || c.clientSecret != "" || len(c.artistIDs) > 0
	if len(c.files) > 0 {
		// A replay reads only the files: the other settings are not used,
		// so they are not checked either.
		return c, nil
	}
	if !c.api && c.s4aDir == "" {
		return c, sdk.ConfigError(fmt.Errorf("spotify: nothing to read: set %s, %s and %s to read the Web API, and/or %s to read Spotify for Artists exports",
			ParamClientID, ParamClientSecret, ParamArtistIDs, ParamS4ADir))
	}
	if !c.api {
		return c, nil
	}
	var missing []string
	if c.clientID == "" {
		missing = append(missing, ParamClientID)
	}
	if c.clientSecret == "" {
		missing = append(missing, ParamClientSecret)
	}
	if len(c.artistIDs) == 0 {
		missing = append(missing, ParamArtistIDs)
	}
	if len(missing) > 0 {
		return c, sdk.ConfigError(fmt.Errorf("spotify: the Web API needs %s, %s and %s; missing: %s",
			ParamClientID, ParamClientSecret, ParamArtistIDs, strings.Join(missing, ", ")))
	}
	for _, p := range []struct{ name, value string }{{ParamBaseURL, c.baseURL}, {ParamTokenURL, c.tokenURL}} {
		u, err := url.Parse(p.value)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, sdk.ConfigError(fmt.Errorf("spotify: %s %q is not an http(s) URL", p.name, p.value))
		}
		if p.name == ParamBaseURL {
			c.basePath = u.Path
		}
	}
	return c, nil
}

// streams lists the streams the configuration enables: all of them for a
// replay, whose files may hold any stream.
func (c config) streams() []sdk.Stream {
	if len(c.files) > 0 {
		return Streams()
	}
	var out []sdk.Stream
	if c.api {
		out = append(out, APIStreams()...)
	}
	if c.s4aDir != "" {
		out = append(out, S4AStreams()...)
	}
	return out
}

// client returns a webapi client for c whose requests go through rt and
// whose notices go to logf.
func (s *Source) client(c config, rt http.RoundTripper, logf func(msg string, kv ...any)) *webapi.Client {
	timeout := s.timeout
	if timeout <= 0 {
		timeout = httpTimeout
	}
	return webapi.New(webapi.Config{
		BaseURL:      c.baseURL,
		TokenURL:     c.tokenURL,
		ClientID:     c.clientID,
		ClientSecret: c.clientSecret,
		HTTPClient:   &http.Client{Transport: rt, Timeout: timeout},
		Logger:       logf,
		Sleep:        s.sleep,
		Now:          s.now,
	})
}

// Check verifies the configuration: for the Web API it obtains an access
// token and fetches the first configured artist; for exports it lists
// s4a_dir. For a replay (files set) it only checks that the files can be
// read, and calls no API.
func (s *Source) Check(ctx context.Context, cfg sdk.Config) error {
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	if len(c.files) > 0 {
		return checkFiles(c.files)
	}
	if c.s4aDir != "" {
		if _, err := listExports(c.s4aDir); err != nil {
			return err
		}
	}
	if !c.api {
		return nil
	}
	cl := s.client(c, s.transport, nil)
	if _, err := cl.Artist(ctx, c.artistIDs[0]); err != nil {
		if errors.Is(err, webapi.ErrNotFound) {
			return explain(unknownArtist(c.artistIDs[0], err), false)
		}
		return explain(err, false)
	}
	return nil
}

// unknownArtist is the configuration error for an artist id Spotify does
// not know.
func unknownArtist(id string, err error) error {
	return sdk.ConfigError(fmt.Errorf("spotify: artist id %q in %s does not exist on Spotify; "+
		"check it against the id in the artist's open.spotify.com URL: %w", id, ParamArtistIDs, err))
}

// Discover returns the streams the configuration enables.
func (s *Source) Discover(ctx context.Context, cfg sdk.Config) ([]sdk.Stream, error) {
	c, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return c.streams(), nil
}

// Read reads the selected streams: first the Spotify for Artists exports,
// then the Web API; or, when files is set, replays those landing payloads
// (see replay.go).
func (s *Source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	c, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	enabled := map[string]bool{}
	for _, st := range c.streams() {
		enabled[st.Name] = true
	}
	known := map[string]bool{}
	for _, st := range Streams() {
		known[st.Name] = true
	}
	want := map[string]bool{}
	for _, name := range req.Streams {
		switch {
		case !known[name]:
			return fmt.Errorf("spotify: unknown stream %q", name)
		case !enabled[name]:
			return sdk.ConfigError(fmt.Errorf("spotify: stream %q is not configured: the Web API streams need %s, %s and %s, the export streams need %s",
				name, ParamClientID, ParamClientSecret, ParamArtistIDs, ParamS4ADir))
		}
		want[name] = true
	}
	selected := func(st sdk.Stream) bool { return enabled[st.Name] && (len(want) == 0 || want[st.Name]) }
	if len(c.files) > 0 {
		return s.replay(ctx, c.files, func(name string) bool { return len(want) == 0 || want[name] }, out)
	}
	var s4a, api []string
	for _, st := range S4AStreams() {
		if selected(st) {
			s4a = append(s4a, st.Name)
		}
	}
	for _, st := range APIStreams() {
		if selected(st) {
			api = append(api, st.Name)
		}
	}
	if len(s4a) > 0 {
		if err := s.readS4A(ctx, c.s4aDir, s4a, req.State, out); err != nil {
			return err
		}
	}
	if len(api) > 0 {
		if err := s.readAPI(ctx, c, api, req.State, out); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return explain(err, true)
		}
	}
	return nil
}

// explained is an error with a message for people, wrapping the original.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// explain puts what happened and what to do in front of a classified Web
// API error, inside its classification: only the classified error's own
// message reaches the host. reading says the error ended a Read (whose
// checkpoints the next run resumes from) rather than a Check.
func explain(err error, reading bool) error {
	var se *sdk.Error
	if !errors.As(err, &se) {
		return err
	}
	detail := err.Error()
	for _, kind := range []string{"configuration error: ", "transient error: "} {
		detail = strings.Replace(detail, kind, "", 1)
	}
	detail = strings.TrimPrefix(detail, "spotify: ")
	next := "try again later"
	if reading {
		next = "what was read so far is kept and the next run continues from there"
	}
	switch se.Kind {
	case sdk.KindRateLimited:
		return sdk.RateLimited(&explained{err: err, msg: "Spotify is limiting how often this app may call it (HTTP 429) " +
			"and was still doing so after several waits; " + next + ". " +
			"If this keeps happening, run the Spotify source less often: " + detail}, se.RetryAt)
	case sdk.KindTransient:
		return sdk.Transient(&explained{err: err, msg: "Spotify could not be reached or kept answering with errors; " +
			"this is usually temporary: " + next + ": " + detail})
	case sdk.KindConfig:
		return sdk.ConfigError(&explained{err: err, msg: "the Spotify settings need fixing: " + detail})
	}
	return err
}
