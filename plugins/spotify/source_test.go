package spotify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// newEmitRecorder records what the source emits and checks the protocol.
func newEmitRecorder(t *testing.T) *sdktest.Recorder { return sdktest.NewRecorder(t, Streams()) }

// logText joins the logged messages.
func logText(r *sdktest.Recorder) string {
	var msgs []string
	for _, l := range r.Logs() {
		msgs = append(msgs, l.Message)
	}
	return strings.Join(msgs, "\n")
}

// lastCheckpoint is a stream's latest checkpoint.
func lastCheckpoint(t *testing.T, r *sdktest.Recorder, stream string) []byte {
	cps := r.Checkpoints(stream)
	require.NotEmpty(t, cps, stream)
	return cps[len(cps)-1]
}

// startEmulator runs an emulator for the test and returns it with a
// working configuration naming every catalog artist.
func startEmulator(t *testing.T, opts emulator.Options) (*emulator.Server, sdk.Config) {
	t.Helper()
	srv := emulator.New(opts)
	base := srv.Start()
	t.Cleanup(srv.Close)
	var ids []string
	for _, a := range srv.Catalog().Artists {
		ids = append(ids, a.ID)
	}
	return srv, sdk.Config{
		ParamClientID:     emulator.DefaultClientID,
		ParamClientSecret: emulator.DefaultClientSecret,
		ParamArtistIDs:    strings.Join(ids, ", "),
		ParamBaseURL:      base + "/v1",
		ParamTokenURL:     base + "/api/token",
	}
}

func TestReadProfiles(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			srv, cfg := startEmulator(t, emulator.Options{Profile: profile, ShortPages: 2})
			now := time.Date(2026, 3, 10, 12, 0, 0, 123456789, time.UTC)
			src := &Source{now: func() time.Time { return now }, transport: NewSource().(*Source).transport}
			e := newEmitRecorder(t)
			require.NoError(t, src.Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))

			cat := srv.Catalog()
			require.Len(t, e.Rows(StreamArtists), len(cat.Artists))
			require.Len(t, e.Rows(StreamAlbums), len(cat.Albums))
			require.Len(t, e.Rows(StreamTracks), len(cat.Tracks))

			wantISRC := map[string]string{}
			for _, tr := range cat.Tracks {
				wantISRC[tr.ID] = tr.ISRC
			}
			for _, r := range e.Rows(StreamTracks) {
				require.Equal(t, wantISRC[r["track_id"].(string)], r["isrc"], r["track_id"])
				require.Positive(t, r["duration_ms"])
				require.Equal(t, now.Truncate(time.Microsecond).UnixMicro(), r["snapshot_at"])
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
				require.Contains(t, logText(e), "Development Mode")
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

			// One payload per stream, a JSON array of the response bodies.
			require.Len(t, e.Payloads(), 3)
			for _, p := range e.Payloads() {
				require.True(t, p.Ended)
				require.Equal(t, "application/json", p.MediaType)
				require.True(t, strings.HasSuffix(p.Name, "-20260310T120000Z.json"), p.Name)
				var bodies []json.RawMessage
				require.NoError(t, json.Unmarshal(p.Data, &bodies), p.Name)
				require.NotEmpty(t, bodies)
			}
			var artists []map[string]any
			require.NoError(t, json.Unmarshal(e.Payloads()[0].Data, &artists))
			require.Len(t, artists, len(cat.Artists))
			_, hasFollowers := artists[0]["followers"]
			require.Equal(t, profile == emulator.ProfileExtended, hasFollowers, "payload keeps the body as sent")

			for _, s := range []string{StreamArtists, StreamAlbums, StreamTracks} {
				var st State
				require.NoError(t, json.Unmarshal(lastCheckpoint(t, e, s), &st))
				require.Equal(t, now.Truncate(time.Microsecond), st.LastRun)
			}
		})
	}
}

func TestReadSelectedStream(t *testing.T) {
	t.Parallel()
	srv, cfg := startEmulator(t, emulator.Options{})
	e := newEmitRecorder(t)
	require.NoError(t, NewSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, Streams: []string{StreamArtists}}, e))
	require.Len(t, e.Rows(StreamArtists), len(srv.Catalog().Artists))
	require.Empty(t, e.Rows(StreamTracks))
	require.Len(t, e.Payloads(), 1)
	require.Zero(t, srv.RequestsWithPrefix("/v1/albums/"))
}

func TestCheck(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	src := NewSource()
	require.NoError(t, src.Check(t.Context(), cfg))

	bad := map[string]string{}
	for k, v := range cfg {
		bad[k] = v
	}
	bad[ParamClientSecret] = "wrong-secret-value"
	err := src.Check(t.Context(), bad)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "%v", err)
	require.NotContains(t, err.Error(), "wrong-secret-value")

	missing := map[string]string{ParamClientID: "x"}
	err = src.Check(t.Context(), missing)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err))
	require.Contains(t, err.Error(), ParamClientSecret)
	require.Contains(t, err.Error(), ParamArtistIDs)

	unknown := map[string]string{}
	for k, v := range cfg {
		unknown[k] = v
	}
	unknown[ParamArtistIDs] = emulator.SpotifyID("nobody")
	require.Equal(t, sdk.KindConfig, sdk.KindOf(src.Check(t.Context(), unknown)))
}

func TestReadHonoursContext(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := NewSource().Read(ctx, sdk.ReadRequest{Config: cfg}, newEmitRecorder(t))
	require.ErrorIs(t, err, context.Canceled)
}

func TestDiscover(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	streams, err := NewSource().Discover(t.Context(), cfg)
	require.NoError(t, err)
	require.Len(t, streams, 3)
	for _, s := range streams {
		require.Len(t, s.PrimaryKey, 2)
		for _, k := range s.PrimaryKey {
			require.GreaterOrEqual(t, s.Schema.Index(k), 0, k)
		}
	}
}
