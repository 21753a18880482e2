package spotify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// testEmitter records everything a source emits and checks the protocol:
// one payload open at a time, batches name an open payload and match their
// stream's schema, a payload is written, closed, then ended.
type testEmitter struct {
	t           *testing.T
	mu          sync.Mutex
	payloads    []*testPayload
	rows        map[string][]map[string]any // stream → rows (column name → value, nil for null)
	checkpoints map[string][]byte
	logs        []string
}

func newTestEmitter(t *testing.T) *testEmitter {
	return &testEmitter{t: t, rows: map[string][]map[string]any{}, checkpoints: map[string][]byte{}}
}

type testPayload struct {
	e               *testEmitter
	id, name, media string
	buf             bytes.Buffer
	closed, ended   bool
	records, rows   int64
}

func (e *testEmitter) BeginPayload(name, mediaType string) (sdk.Payload, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range e.payloads {
		require.True(e.t, p.ended, "a payload began before the previous one ended")
	}
	p := &testPayload{e: e, id: fmt.Sprintf("p%d", len(e.payloads)+1), name: name, media: mediaType}
	e.payloads = append(e.payloads, p)
	return p, nil
}

func schemaOf(t *testing.T, stream string) sdk.Schema {
	for _, s := range Streams() {
		if s.Name == stream {
			return s.Schema
		}
	}
	t.Fatalf("unknown stream %q", stream)
	return sdk.Schema{}
}

func (e *testEmitter) Batch(b *sdk.RecordBatch) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	schema := schemaOf(e.t, b.Stream)
	require.NoError(e.t, b.Validate(schema))
	var open *testPayload
	for _, p := range e.payloads {
		if p.id == b.PayloadID {
			open = p
		}
	}
	require.NotNil(e.t, open, "batch for an unknown payload")
	require.True(e.t, open.closed, "batch before the payload was closed")
	require.False(e.t, open.ended, "batch after the payload ended")
	open.rows += int64(b.NumRows)
	for i := range b.NumRows {
		row := map[string]any{}
		for c, f := range schema.Fields {
			col := &b.Columns[c]
			switch {
			case col.IsNull(i):
				row[f.Name] = nil
			case f.Type == sdk.TypeString:
				row[f.Name] = col.String(i)
			case f.Type == sdk.TypeDate:
				row[f.Name] = time.Unix(int64(col.Int32s[i])*86400, 0).UTC().Format(time.DateOnly)
			case f.Type == sdk.TypeBool:
				row[f.Name] = col.Bools[i]
			default:
				row[f.Name] = col.Int64s[i]
			}
		}
		e.rows[b.Stream] = append(e.rows[b.Stream], row)
	}
	return nil
}

func (e *testEmitter) Checkpoint(stream string, state []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkpoints[stream] = append([]byte(nil), state...)
	return nil
}

func (e *testEmitter) Log(level sdk.LogLevel, msg string, keyvals ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Zero(e.t, len(keyvals)%2, "keyvals must be pairs")
	e.logs = append(e.logs, msg)
}

func (e *testEmitter) Progress(done, total int64, unit string) {
	require.LessOrEqual(e.t, done, total)
}

func (p *testPayload) Write(b []byte) (int, error) {
	require.False(p.e.t, p.closed, "write after close")
	return p.buf.Write(b)
}

func (p *testPayload) Close() error {
	require.False(p.e.t, p.closed, "closed twice")
	p.closed = true
	return nil
}

func (p *testPayload) ID() string     { return p.id }
func (p *testPayload) SHA256() string { return "" }

func (p *testPayload) End(records int64, problems []sdk.Problem) error {
	require.True(p.e.t, p.closed, "end before close")
	require.False(p.e.t, p.ended, "ended twice")
	require.Empty(p.e.t, problems)
	require.Equal(p.e.t, p.rows, records, "records differ from the rows sent")
	p.ended, p.records = true, records
	return nil
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
			e := newTestEmitter(t)
			require.NoError(t, src.Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))

			cat := srv.Catalog()
			require.Len(t, e.rows[StreamArtists], len(cat.Artists))
			require.Len(t, e.rows[StreamAlbums], len(cat.Albums))
			require.Len(t, e.rows[StreamTracks], len(cat.Tracks))

			wantISRC := map[string]string{}
			for _, tr := range cat.Tracks {
				wantISRC[tr.ID] = tr.ISRC
			}
			for _, r := range e.rows[StreamTracks] {
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
			for _, r := range e.rows[StreamArtists] {
				byID[r["artist_id"].(string)] = r
			}
			osker := byID[emulator.OskerWyldID]
			if profile == emulator.ProfileDevMode {
				for _, r := range e.rows[StreamArtists] {
					require.Nil(t, r["popularity"])
					require.Nil(t, r["followers"])
				}
				require.Contains(t, strings.Join(e.logs, "\n"), "Development Mode")
			} else {
				require.Equal(t, int64(18342), byID[emulator.MaraEllisID]["followers"])
				require.Equal(t, int64(0), osker["followers"], "a real zero stays 0")
				require.Equal(t, int64(0), osker["popularity"])
				require.NotContains(t, strings.Join(e.logs, "\n"), "Development Mode")
			}
			precisions := map[any]bool{}
			for _, r := range e.rows[StreamAlbums] {
				precisions[r["release_date_precision"]] = true
				require.NotNil(t, r["release_date"])
			}
			require.Len(t, precisions, 3)

			// One payload per stream, a JSON array of the response bodies.
			require.Len(t, e.payloads, 3)
			for _, p := range e.payloads {
				require.True(t, p.ended)
				require.Equal(t, "application/json", p.media)
				require.True(t, strings.HasSuffix(p.name, "-20260310T120000Z.json"), p.name)
				var bodies []json.RawMessage
				require.NoError(t, json.Unmarshal(p.buf.Bytes(), &bodies), p.name)
				require.NotEmpty(t, bodies)
			}
			var artists []map[string]any
			require.NoError(t, json.Unmarshal(e.payloads[0].buf.Bytes(), &artists))
			require.Len(t, artists, len(cat.Artists))
			_, hasFollowers := artists[0]["followers"]
			require.Equal(t, profile == emulator.ProfileExtended, hasFollowers, "payload keeps the body as sent")

			for _, s := range []string{StreamArtists, StreamAlbums, StreamTracks} {
				var st State
				require.NoError(t, json.Unmarshal(e.checkpoints[s], &st))
				require.Equal(t, now.Truncate(time.Microsecond), st.LastRun)
			}
		})
	}
}

func TestReadSelectedStream(t *testing.T) {
	t.Parallel()
	srv, cfg := startEmulator(t, emulator.Options{})
	e := newTestEmitter(t)
	require.NoError(t, NewSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, Streams: []string{StreamArtists}}, e))
	require.Len(t, e.rows[StreamArtists], len(srv.Catalog().Artists))
	require.Empty(t, e.rows[StreamTracks])
	require.Len(t, e.payloads, 1)
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
	err := NewSource().Read(ctx, sdk.ReadRequest{Config: cfg}, newTestEmitter(t))
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
