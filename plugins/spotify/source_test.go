package spotify

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

func TestReadProfiles(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			srv, cfg := startEmulator(t, emulator.Options{Profile: profile, ShortPages: 2})
			e := newEmitRecorder(t)
			require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))

			cat := srv.Catalog()
			require.Len(t, e.Rows(StreamArtists), len(cat.Artists))
			require.Len(t, e.Rows(StreamAlbums), len(cat.Albums), "the sampler shared by three artists once")
			require.Len(t, e.Rows(StreamTracks), len(cat.Tracks))
			for _, s := range APIStreams() {
				requireNoDuplicates(t, s.Name, e.Rows(s.Name))
			}

			wantISRC := map[string]string{}
			for _, tr := range cat.Tracks {
				wantISRC[tr.ID] = tr.ISRC
			}
			for _, r := range e.Rows(StreamTracks) {
				require.Equal(t, wantISRC[r["track_id"].(string)], r["isrc"], r["track_id"])
				require.Positive(t, r["duration_ms"])
				require.Equal(t, t0.Truncate(time.Microsecond).UnixMicro(), r["snapshot_at"])
				if profile == emulator.ProfileDevMode {
					require.Nil(t, r["popularity"])
				} else {
					require.NotNil(t, r["popularity"])
				}
			}
			byID := map[string]map[string]any{}
			for _, r := range e.Rows(StreamArtists) {
				byID[r["artist_id"].(string)] = r
			}
			osker := byID[emulator.OskerWyldID]
			if profile == emulator.ProfileDevMode {
				for _, r := range e.Rows(StreamArtists) {
					require.Nil(t, r["popularity"])
					require.Nil(t, r["followers"])
				}
				require.Equal(t, 1, strings.Count(logText(e), "spotify app is in Development Mode"), "warned once")
			} else {
				require.Equal(t, int64(18342), byID[emulator.MaraEllisID]["followers"])
				require.Equal(t, int64(0), osker["followers"], "a real zero stays 0")
				require.Equal(t, int64(0), osker["popularity"])
				require.NotContains(t, logText(e), "Development Mode")
			}
			precisions := map[any]bool{}
			for _, r := range e.Rows(StreamAlbums) {
				precisions[r["release_date_precision"]] = true
				require.NotNil(t, r["release_date"])
			}
			require.Len(t, precisions, 3)

			// Per artist and stream one JSON Lines payload of the API
			// responses, each line with its request.
			require.Len(t, e.Payloads(), 3*len(cat.Artists))
			for i, p := range e.Payloads() {
				require.True(t, p.Ended)
				require.Equal(t, "application/x-ndjson", p.MediaType)
				stream := []string{StreamArtists, StreamAlbums, StreamTracks}[i%3]
				artist := cat.Artists[i/3].ID
				require.Equal(t, fmt.Sprintf("%s-20260310T120000.123456Z-%03d-%s.jsonl", stream, i/3+1, artist), p.Name)
				lines := payloadLines(t, p)
				require.NotEmpty(t, lines)
				for _, l := range lines {
					require.Equal(t, "GET", l.Request.Method)
					require.Equal(t, 200, l.Status)
					require.True(t, json.Valid(l.Body))
					require.NotContains(t, l.Request.URL, "?")
					_, err := time.Parse(time.RFC3339, l.ReceivedAt)
					require.NoError(t, err)
				}
			}
			artistLines := payloadLines(t, e.Payloads()[0])
			require.Len(t, artistLines, 1)
			require.True(t, strings.HasSuffix(artistLines[0].Request.URL, "/v1/artists/"+emulator.MaraEllisID))
			var body map[string]any
			require.NoError(t, json.Unmarshal(artistLines[0].Body, &body))
			_, hasFollowers := body["followers"]
			require.Equal(t, profile == emulator.ProfileExtended, hasFollowers, "payload keeps the body as sent")
			albumPages := payloadLines(t, e.Payloads()[1])
			require.Len(t, albumPages, 5, "9 releases in pages of 2")
			require.Equal(t, "album,single,compilation,appears_on", albumPages[0].Request.Params["include_groups"])
			require.Equal(t, "2", albumPages[1].Request.Params["offset"])

			for _, s := range APIStreams() {
				st, err := ParseAPIState(lastCheckpoint(t, e, s.Name))
				require.NoError(t, err)
				require.Equal(t, t0.Truncate(time.Microsecond), st.SnapshotAt)
				require.True(t, st.Done)
				require.Equal(t, len(cat.Artists), st.NextArtist)
				require.Empty(t, st.AlbumIDs, "a finished snapshot forgets its releases")
				require.Len(t, e.Checkpoints(s.Name), len(cat.Artists), "one checkpoint per artist")
			}
		})
	}
}

// The sampler lists all three artists: it belongs to the first of them in
// artist_ids, whatever the order.
func TestSharedReleaseGoesToFirstConfiguredArtist(t *testing.T) {
	t.Parallel()
	srv, cfg := startEmulator(t, emulator.Options{})
	sampler := emulator.SpotifyID("album:Bedrot Sampler Vol. 1")
	for _, order := range [][]string{
		{emulator.MaraEllisID, emulator.OrjanOdegardID, emulator.OskerWyldID},
		{emulator.OskerWyldID, emulator.MaraEllisID, emulator.OrjanOdegardID},
	} {
		e := newEmitRecorder(t)
		require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: withConfig(cfg, ParamArtistIDs, strings.Join(order, ","))}, e))
		require.Len(t, e.Rows(StreamAlbums), len(srv.Catalog().Albums))
		require.Len(t, e.Rows(StreamTracks), len(srv.Catalog().Tracks))
		// Payload 2 is the first artist's albums payload.
		var owned []string
		for _, l := range payloadLines(t, e.Payloads()[1]) {
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			require.NoError(t, json.Unmarshal(l.Body, &page))
			for _, it := range page.Items {
				owned = append(owned, it.ID)
			}
		}
		require.Contains(t, owned, sampler)
		first := 0
		for _, p := range e.Payloads() {
			if strings.HasPrefix(p.Name, StreamAlbums+"-") {
				require.True(t, p.Ended)
				if strings.HasSuffix(p.Name, order[0]+".jsonl") {
					first = int(p.Rows)
				}
			}
		}
		var want int
		for _, al := range srv.Catalog().Albums {
			if al.ArtistIDs[0] == order[0] || al.ID == sampler {
				want++
			}
		}
		require.Equal(t, want, first, "order %v", order)
	}
}

func TestReadSelectedStream(t *testing.T) {
	t.Parallel()
	srv, cfg := startEmulator(t, emulator.Options{})
	cfg = withConfig(cfg, ParamS4ADir, sampleDir)
	e := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, Streams: []string{StreamArtists, StreamS4ASongs}}, e))
	require.Len(t, e.Rows(StreamArtists), len(srv.Catalog().Artists))
	require.Len(t, e.Rows(StreamS4ASongs), sampleRows[StreamS4ASongs])
	require.Empty(t, e.Rows(StreamTracks))
	require.Empty(t, e.Rows(StreamS4AAudience))
	require.Len(t, e.Payloads(), len(srv.Catalog().Artists)+2)
	require.Zero(t, srv.RequestsWithPrefix("/v1/albums/"))

	// Tracks alone: the release pages go with the tracks payload.
	e = newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, Streams: []string{StreamTracks}}, e))
	require.Len(t, e.Rows(StreamTracks), len(srv.Catalog().Tracks))
	lines := payloadLines(t, e.Payloads()[0])
	require.Contains(t, lines[0].Request.URL, "/v1/artists/"+emulator.MaraEllisID+"/albums")

	err := fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, Streams: []string{"nope"}}, newEmitRecorder(t))
	require.ErrorContains(t, err, `unknown stream "nope"`)
	onlyAPI := withConfig(cfg, ParamS4ADir, "")
	err = fixedSource().Read(t.Context(), sdk.ReadRequest{Config: onlyAPI, Streams: []string{StreamS4ASongs}}, newEmitRecorder(t))
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.ErrorContains(t, err, ParamS4ADir)
}

func TestCheck(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	src := NewSource()
	require.NoError(t, src.Check(t.Context(), cfg))
	require.NoError(t, src.Check(t.Context(), withConfig(cfg, ParamS4ADir, sampleDir)))

	bad := withConfig(cfg, ParamClientSecret, "wrong-secret-value")
	err := src.Check(t.Context(), bad)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "%v", err)
	require.NotContains(t, err.Error(), "wrong-secret-value")
	require.Contains(t, err.Error(), "developer dashboard", "says what to do")

	err = src.Check(t.Context(), sdk.Config{ParamClientID: "x"})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Contains(t, err.Error(), ParamClientSecret)
	require.Contains(t, err.Error(), ParamArtistIDs)

	err = src.Check(t.Context(), sdk.Config{})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Contains(t, err.Error(), ParamS4ADir, "names both ways to configure it")

	unknown := withConfig(cfg, ParamArtistIDs, emulator.SpotifyID("nobody"))
	err = src.Check(t.Context(), unknown)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Contains(t, err.Error(), "open.spotify.com")

	// Exports only: no API app needed.
	require.NoError(t, src.Check(t.Context(), sdk.Config{ParamS4ADir: sampleDir}))
	err = src.Check(t.Context(), sdk.Config{ParamS4ADir: filepath.Join(t.TempDir(), "missing")})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Contains(t, err.Error(), ParamS4ADir)
}

func TestReadHonoursContext(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := NewSource().Read(ctx, sdk.ReadRequest{Config: withConfig(cfg, ParamS4ADir, sampleDir)}, newEmitRecorder(t))
	require.ErrorIs(t, err, context.Canceled)
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	names := func(cfg sdk.Config) []string {
		streams, err := NewSource().Discover(t.Context(), cfg)
		require.NoError(t, err)
		var out []string
		for _, s := range streams {
			require.NotEmpty(t, s.PrimaryKey)
			for _, k := range s.PrimaryKey {
				require.GreaterOrEqual(t, s.Schema.Index(k), 0, k)
			}
			out = append(out, s.Name)
		}
		return out
	}
	api := []string{StreamArtists, StreamAlbums, StreamTracks}
	s4a := []string{StreamS4AAudience, StreamS4ASongTimeline, StreamS4ASongs, StreamS4APlaylists}
	require.Equal(t, api, names(cfg))
	require.Equal(t, s4a, names(sdk.Config{ParamS4ADir: sampleDir}))
	require.Equal(t, append(api, s4a...), names(withConfig(cfg, ParamS4ADir, sampleDir)))
	_, err := NewSource().Discover(t.Context(), sdk.Config{ParamArtistIDs: emulator.MaraEllisID, ParamS4ADir: sampleDir})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "a half-configured API is an error, not ignored")
}

func TestSpecParams(t *testing.T) {
	t.Parallel()
	secret := map[string]bool{}
	for _, p := range Spec().Params {
		require.NotEmpty(t, p.Description, p.Name)
		require.False(t, p.Required, "%s: every input is optional, either the API or the exports will do", p.Name)
		secret[p.Name] = p.Secret
	}
	require.True(t, secret[ParamClientSecret])
	require.Contains(t, secret, ParamS4ADir)
}
