// Package spotify is the BEDROT source connector for the Spotify Web API:
// it snapshots the configured artists, all their releases and every track
// of those releases (with ISRCs) on each run.
//
// It authenticates with the client-credentials flow through package webapi,
// which also handles paging, retries and the Development-Mode cuts of 2026
// (sources.md §2.1): in Development Mode artist followers and popularity and
// track popularity are absent, and the connector writes them as null, never
// as 0; the removed batch GET /tracks?ids= endpoint is replaced by one
// request per track.
//
// Every API response body the rows come from is kept byte for byte: each
// run emits one payload per stream, a JSON array of the response bodies as
// received (pages included), followed by that stream's record batches.
package spotify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/spotify/webapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// Version is the connector's version, reported in its Spec.
const Version = "0.1.0"

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
		Description: "Spotify Web API catalog snapshots: the configured artists, their releases and tracks with ISRCs " +
			"(client-credentials app; works in Development Mode, where popularity and followers are null).",
		Author: "BEDROT",
		Params: []sdk.Param{
			{Name: ParamClientID, Description: "Client id of your Spotify app (developer.spotify.com dashboard).", Required: true},
			{Name: ParamClientSecret, Description: "Client secret of your Spotify app.", Required: true, Secret: true},
			{Name: ParamArtistIDs, Description: "Comma-separated Spotify artist ids to snapshot (the 22-character id in the artist's open.spotify.com URL).", Required: true},
			{Name: ParamBaseURL, Description: "Web API base URL.", Default: webapi.DefaultBaseURL},
			{Name: ParamTokenURL, Description: "Client-credentials token endpoint.", Default: webapi.DefaultTokenURL},
		},
	}
}

// Source reads the Spotify Web API. Create it with NewSource.
type Source struct {
	sdk.UnimplementedSource
	// now returns the snapshot time; tests may replace it.
	now func() time.Time
	// transport sends HTTP requests (default http.DefaultTransport).
	transport http.RoundTripper
}

// NewSource returns the Spotify source.
func NewSource() sdk.Source { return &Source{now: time.Now, transport: http.DefaultTransport} }

// config is the parsed plugin configuration.
type config struct {
	clientID, clientSecret string
	artistIDs              []string
	baseURL, tokenURL      string
	basePath               string
}

func parseConfig(cfg sdk.Config) (config, error) {
	c := config{
		clientID:     strings.TrimSpace(cfg[ParamClientID]),
		clientSecret: strings.TrimSpace(cfg[ParamClientSecret]),
		baseURL:      strings.TrimRight(strings.TrimSpace(cfg[ParamBaseURL]), "/"),
		tokenURL:     strings.TrimSpace(cfg[ParamTokenURL]),
	}
	if c.baseURL == "" {
		c.baseURL = webapi.DefaultBaseURL
	}
	if c.tokenURL == "" {
		c.tokenURL = webapi.DefaultTokenURL
	}
	seen := map[string]bool{}
	for id := range strings.SplitSeq(cfg[ParamArtistIDs], ",") {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			c.artistIDs = append(c.artistIDs, id)
		}
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
		return c, sdk.ConfigError(fmt.Errorf("spotify: missing required parameter(s): %s", strings.Join(missing, ", ")))
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

// client returns a webapi client for c whose requests go through rt and
// whose notices go to logf.
func (c config) client(rt http.RoundTripper, logf func(msg string, kv ...any)) *webapi.Client {
	return webapi.New(webapi.Config{
		BaseURL:      c.baseURL,
		TokenURL:     c.tokenURL,
		ClientID:     c.clientID,
		ClientSecret: c.clientSecret,
		HTTPClient:   &http.Client{Transport: rt, Timeout: httpTimeout},
		Logger:       logf,
	})
}

// Check verifies the configuration by obtaining an access token and
// fetching the first configured artist.
func (s *Source) Check(ctx context.Context, cfg sdk.Config) error {
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	cl := c.client(s.transport, nil)
	if _, err := cl.Artist(ctx, c.artistIDs[0]); err != nil {
		if errors.Is(err, webapi.ErrNotFound) {
			return sdk.ConfigError(fmt.Errorf("spotify: artist id %q in %s does not exist: %w", c.artistIDs[0], ParamArtistIDs, err))
		}
		return err
	}
	return nil
}

// Discover returns the artists, albums and tracks streams.
func (s *Source) Discover(ctx context.Context, cfg sdk.Config) ([]sdk.Stream, error) {
	if _, err := parseConfig(cfg); err != nil {
		return nil, err
	}
	return Streams(), nil
}

// State is the checkpoint of each stream.
type State struct {
	// LastRun is when the last successful snapshot of the stream was taken.
	LastRun time.Time `json:"last_run"`
}

// snapshot is everything one run fetched.
type snapshot struct {
	artists []webapi.Artist
	albums  []webapi.Album
	tracks  []webapi.Track
	devMode bool
}

// Read snapshots the configured artists, their releases and tracks. It
// fetches everything first, then per selected stream emits one payload of
// the raw response bodies, its batches, the payload end and a checkpoint.
func (s *Source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	c, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, st := range req.Streams {
		want[st] = true
	}
	selected := func(name string) bool { return len(want) == 0 || want[name] }
	for name := range want {
		if name != StreamArtists && name != StreamAlbums && name != StreamTracks {
			return fmt.Errorf("spotify: unknown stream %q", name)
		}
	}
	at := s.now().UTC().Truncate(time.Microsecond)
	rec := newRecorder(s.transport, c.basePath)
	cl := c.client(rec, func(msg string, kv ...any) { out.Log(sdk.LevelWarn, msg, kv...) })

	snap, err := fetch(ctx, cl, c.artistIDs, selected(StreamAlbums) || selected(StreamTracks), selected(StreamTracks), out)
	if err != nil {
		return err
	}
	if snap.devMode {
		out.Log(sdk.LevelWarn, "spotify app is in Development Mode: popularity and followers are absent and written as null; "+
			"use the Spotify for Artists exports for those figures")
	}
	stamp := at.Format("20060102T150405Z")
	last, err := json.Marshal(State{LastRun: at})
	if err != nil {
		return fmt.Errorf("failed to encode the spotify state: %w", err)
	}
	emitters := []struct {
		stream string
		schema sdk.Schema
		rows   int
		fill   func(b *sdk.BatchBuilder, i int)
	}{
		{StreamArtists, ArtistsSchema, len(snap.artists), func(b *sdk.BatchBuilder, i int) { appendArtist(b, snap.artists[i], at) }},
		{StreamAlbums, AlbumsSchema, len(snap.albums), func(b *sdk.BatchBuilder, i int) { appendAlbum(b, snap.albums[i], at) }},
		{StreamTracks, TracksSchema, len(snap.tracks), func(b *sdk.BatchBuilder, i int) { appendTrack(b, snap.tracks[i], at) }},
	}
	for _, e := range emitters {
		if !selected(e.stream) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := emitStream(out, e.stream, e.stream+"-"+stamp+".json", e.schema, rec.take(e.stream), e.rows, e.fill); err != nil {
			return err
		}
		if err := out.Checkpoint(e.stream, last); err != nil {
			return fmt.Errorf("failed to checkpoint the %s stream: %w", e.stream, err)
		}
	}
	return nil
}

// fetch reads the artists and, when asked, their albums and tracks. Albums
// and tracks are kept once each, in the order first met.
func fetch(ctx context.Context, cl *webapi.Client, artistIDs []string, withAlbums, withTracks bool, out sdk.Emitter) (snapshot, error) {
	var snap snapshot
	seenAlbum := map[string]bool{}
	for i, id := range artistIDs {
		a, err := cl.Artist(ctx, id)
		if err != nil {
			return snap, fmt.Errorf("failed to read artist %s: %w", id, err)
		}
		if a.Followers == nil || a.Popularity == nil {
			snap.devMode = true
		}
		snap.artists = append(snap.artists, a)
		if withAlbums {
			albums, err := cl.ArtistAlbums(ctx, id)
			if err != nil {
				return snap, fmt.Errorf("failed to read the albums of artist %s: %w", id, err)
			}
			for _, al := range albums {
				if !seenAlbum[al.ID] {
					seenAlbum[al.ID] = true
					snap.albums = append(snap.albums, al)
				}
			}
		}
		out.Progress(int64(i+1), int64(len(artistIDs)), "artists")
	}
	if !withTracks {
		return snap, nil
	}
	var ids []string
	seenTrack := map[string]bool{}
	for _, al := range snap.albums {
		tracks, err := cl.AlbumTracks(ctx, al.ID)
		if err != nil {
			return snap, fmt.Errorf("failed to read the tracks of album %s: %w", al.ID, err)
		}
		for _, t := range tracks {
			if !seenTrack[t.ID] {
				seenTrack[t.ID] = true
				ids = append(ids, t.ID)
			}
		}
	}
	tracks, err := cl.Tracks(ctx, ids)
	if err != nil {
		return snap, fmt.Errorf("failed to read %d tracks: %w", len(ids), err)
	}
	for _, t := range tracks {
		if t.Popularity == nil {
			snap.devMode = true
		}
	}
	snap.tracks = tracks
	return snap, nil
}

// emitStream sends one payload holding bodies as a JSON array, then the
// stream's rows in batches linked to it, then ends the payload.
func emitStream(out sdk.Emitter, stream, name string, schema sdk.Schema, bodies [][]byte, rows int, fill func(*sdk.BatchBuilder, int)) error {
	pl, err := out.BeginPayload(name, "application/json")
	if err != nil {
		return fmt.Errorf("failed to begin the %s payload: %w", stream, err)
	}
	if err := writeArray(pl, bodies); err != nil {
		_ = pl.Close()
		return fmt.Errorf("failed to write the %s payload: %w", stream, err)
	}
	if err := pl.Close(); err != nil {
		return fmt.Errorf("failed to close the %s payload: %w", stream, err)
	}
	b := sdk.NewBatchBuilder(stream, schema)
	b.Reset(stream, pl.ID())
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if err := out.Batch(b.Batch()); err != nil {
			return fmt.Errorf("failed to send a %s batch: %w", stream, err)
		}
		b.Reset(stream, pl.ID())
		return nil
	}
	for i := range rows {
		fill(b, i)
		b.EndRow()
		if b.Len() >= batchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if err := pl.End(int64(rows), nil); err != nil {
		return fmt.Errorf("failed to end the %s payload: %w", stream, err)
	}
	return nil
}

// writeArray writes bodies as the elements of one JSON array.
func writeArray(w io.Writer, bodies [][]byte) error {
	if _, err := w.Write([]byte("[")); err != nil {
		return err
	}
	for i, body := range bodies {
		if i > 0 {
			if _, err := w.Write([]byte(",\n")); err != nil {
				return err
			}
		}
		if _, err := w.Write(body); err != nil {
			return err
		}
	}
	_, err := w.Write([]byte("]\n"))
	return err
}

func appendNullableInt(b *sdk.BatchBuilder, col int, v *int) {
	if v == nil {
		b.AppendNull(col)
		return
	}
	b.AppendInt64(col, int64(*v))
}

func artistIDs(as []webapi.SimpleArtist) []byte {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return []byte(strings.Join(ids, ","))
}

func appendArtist(b *sdk.BatchBuilder, a webapi.Artist, at time.Time) {
	b.AppendString(ArtistColID, []byte(a.ID))
	b.AppendString(ArtistColName, []byte(a.Name))
	if a.Genres == nil {
		b.AppendNull(ArtistColGenres)
	} else {
		g, _ := json.Marshal(a.Genres) // a []string always encodes
		b.AppendString(ArtistColGenres, g)
	}
	appendNullableInt(b, ArtistColPopularity, a.Popularity)
	appendNullableInt(b, ArtistColFollowers, a.Followers)
	b.AppendInt64(ArtistColSnapshotAt, at.UnixMicro())
}

func appendAlbum(b *sdk.BatchBuilder, a webapi.Album, at time.Time) {
	b.AppendString(AlbumColID, []byte(a.ID))
	b.AppendString(AlbumColName, []byte(a.Name))
	b.AppendString(AlbumColType, []byte(a.AlbumType))
	b.AppendString(AlbumColArtistIDs, artistIDs(a.Artists))
	if d, err := a.ReleaseDate.Time(); err == nil {
		b.AppendInt32(AlbumColReleaseDate, sdk.DaysSinceEpoch(d))
	} else {
		b.AppendNull(AlbumColReleaseDate)
	}
	b.AppendString(AlbumColReleaseDatePrecision, []byte(a.ReleaseDate.Precision))
	b.AppendInt64(AlbumColTotalTracks, int64(a.TotalTracks))
	b.AppendInt64(AlbumColSnapshotAt, at.UnixMicro())
}

func appendTrack(b *sdk.BatchBuilder, t webapi.Track, at time.Time) {
	b.AppendString(TrackColID, []byte(t.ID))
	b.AppendString(TrackColName, []byte(t.Name))
	b.AppendString(TrackColAlbumID, []byte(t.Album.ID))
	b.AppendString(TrackColArtistIDs, artistIDs(t.Artists))
	if t.ExternalIDs.ISRC == "" {
		b.AppendNull(TrackColISRC)
	} else {
		b.AppendString(TrackColISRC, []byte(t.ExternalIDs.ISRC))
	}
	b.AppendInt64(TrackColDiscNumber, int64(t.DiscNumber))
	b.AppendInt64(TrackColTrackNumber, int64(t.TrackNumber))
	b.AppendInt64(TrackColDurationMS, int64(t.DurationMS))
	b.AppendBool(TrackColExplicit, t.Explicit)
	appendNullableInt(b, TrackColPopularity, t.Popularity)
	b.AppendInt64(TrackColSnapshotAt, at.UnixMicro())
}
