package spotify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// sampleDir holds the sample Spotify for Artists exports.
var sampleDir = filepath.Join("testdata", "s4a")

// Row counts of the sample exports, per stream.
var sampleRows = map[string]int{
	StreamS4AAudience:     3 * 28,
	StreamS4ASongTimeline: 4 * 28,
	StreamS4ASongs:        2 * 10,
	StreamS4APlaylists:    8,
}

// t0 is the time of the first run in tests.
var t0 = time.Date(2026, 3, 10, 12, 0, 0, 123456789, time.UTC)

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
	t.Helper()
	cps := r.Checkpoints(stream)
	require.NotEmpty(t, cps, stream)
	return cps[len(cps)-1]
}

// states returns the last checkpoint of every stream, as the next run
// would get them after a successful run.
func states(r *sdktest.Recorder) map[string][]byte {
	out := map[string][]byte{}
	for _, s := range Streams() {
		if cps := r.Checkpoints(s.Name); len(cps) > 0 {
			out[s.Name] = cps[len(cps)-1]
		}
	}
	return out
}

// startEmulator runs an emulator for the test and returns it with a
// working Web API configuration naming every catalog artist.
func startEmulator(t *testing.T, opts emulator.Options) (*emulator.Server, sdk.Config) {
	t.Helper()
	srv := emulator.New(opts)
	base := srv.Start()
	t.Cleanup(srv.Close)
	var ids []string
	for _, a := range srv.Catalog().Artists {
		ids = append(ids, a.ID)
	}
	secret := opts.ClientSecret
	if secret == "" {
		secret = emulator.DefaultClientSecret
	}
	return srv, sdk.Config{
		ParamClientID:     emulator.DefaultClientID,
		ParamClientSecret: secret,
		ParamArtistIDs:    strings.Join(ids, ", "),
		ParamBaseURL:      base + "/v1",
		ParamTokenURL:     base + "/api/token",
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// waits records the retry waits a source asked for, without waiting.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.d)
}

// testSource returns a source whose clock is c and whose retries do not
// wait (the waits are recorded in w when not nil).
func testSource(c *clock, w *waits) *Source {
	if w == nil {
		w = &waits{}
	}
	return &Source{now: c.now, transport: http.DefaultTransport, sleep: w.sleep}
}

// fixedSource is a test source at t0.
func fixedSource() *Source { return testSource(&clock{t: t0}, nil) }

// withConfig returns cfg with the changes applied.
func withConfig(cfg sdk.Config, kv ...string) sdk.Config {
	out := maps.Clone(cfg)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// canon renders rows as sorted canonical strings, for comparing multisets.
func canon(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		b, err := json.Marshal(r) // map keys are sorted
		if err != nil {
			panic(err)
		}
		out[i] = string(b)
	}
	slices.Sort(out)
	return out
}

// requireNoDuplicates fails when a stream has a row twice.
func requireNoDuplicates(t *testing.T, stream string, rows []map[string]any) {
	t.Helper()
	c := canon(rows)
	for i := 1; i < len(c); i++ {
		require.NotEqual(t, c[i-1], c[i], "%s: row twice", stream)
	}
}

// apiRows are the Web API rows of a catalog: one per artist, album and
// track.
func apiRows(cat *emulator.Catalog) int64 {
	return int64(len(cat.Artists) + len(cat.Albums) + len(cat.Tracks))
}

// payloadLines decodes a JSON Lines payload.
func payloadLines(t *testing.T, p *sdktest.RecordedPayload) []landingLine {
	t.Helper()
	var out []landingLine
	for i, l := range strings.Split(strings.TrimSuffix(string(p.Data), "\n"), "\n") {
		if l == "" && len(p.Data) == 0 {
			break
		}
		var ll landingLine
		require.NoError(t, json.Unmarshal([]byte(l), &ll), "%s line %d", p.Name, i+1)
		out = append(out, ll)
	}
	return out
}

// describe renders a recorder's logs with their key/values.
func describe(r *sdktest.Recorder) string {
	var b strings.Builder
	for _, l := range r.Logs() {
		fmt.Fprintln(&b, append([]any{l.Message}, l.KeyVals...)...)
	}
	return b.String()
}
