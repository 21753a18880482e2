package spotify

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// errHostGone is what the emitter returns once a run is cut.
var errHostGone = errors.New("the host is gone")

// contractEmitter records a run through an sdktest.Recorder (which checks
// the protocol) and applies the host's resume contract: when the run fails,
// the host commits every payload that ended before the run's last
// checkpoint at which no payload was open, with the stream states as of
// that checkpoint. With limit > 0 the run is cut after limit emitter calls,
// as if the plugin were killed: the next call fails and the run's context
// is cancelled.
type contractEmitter struct {
	rec    *sdktest.Recorder
	cancel context.CancelFunc
	limit  int

	mu    sync.Mutex
	calls int
	cut   bool
	seq   int                                // events so far
	open  map[string]bool                    // payloads begun and not ended
	ended map[string]int                     // payload → seq of its end
	rows  map[string]map[string][]rowOfBatch // payload → stream → rows
	// cps are the checkpoints with the seq they came at and whether no
	// payload was open then.
	cps []checkpointEvent
}

type rowOfBatch = map[string]any

type checkpointEvent struct {
	seq    int
	clean  bool
	stream string
	state  []byte
}

func newContractEmitter(t *testing.T, cancel context.CancelFunc, limit int) *contractEmitter {
	return &contractEmitter{rec: newEmitRecorder(t), cancel: cancel, limit: limit,
		open: map[string]bool{}, ended: map[string]int{}, rows: map[string]map[string][]rowOfBatch{}}
}

// call counts an emitter call and reports whether the run is cut.
func (c *contractEmitter) call() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return errHostGone
	}
	c.calls++
	if c.limit > 0 && c.calls > c.limit {
		c.cut = true
		c.cancel()
		return errHostGone
	}
	c.seq++
	return nil
}

func (c *contractEmitter) BeginPayload(name, mediaType string) (sdk.Payload, error) {
	if err := c.call(); err != nil {
		return nil, err
	}
	p, err := c.rec.BeginPayload(name, mediaType)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open[p.ID()] = true
	c.rows[p.ID()] = map[string][]rowOfBatch{}
	c.mu.Unlock()
	return &contractPayload{Payload: p, c: c}, nil
}

func (c *contractEmitter) Batch(b *sdk.RecordBatch) error {
	if err := c.call(); err != nil {
		return err
	}
	before := len(c.rec.Rows(b.Stream))
	if err := c.rec.Batch(b); err != nil {
		return err
	}
	rows := c.rec.Rows(b.Stream)[before:]
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows[b.PayloadID][b.Stream] = append(c.rows[b.PayloadID][b.Stream], rows...)
	return nil
}

func (c *contractEmitter) Checkpoint(stream string, state []byte) error {
	if err := c.call(); err != nil {
		return err
	}
	c.mu.Lock()
	c.cps = append(c.cps, checkpointEvent{seq: c.seq, clean: len(c.open) == 0, stream: stream, state: state})
	c.mu.Unlock()
	return c.rec.Checkpoint(stream, state)
}

func (c *contractEmitter) Log(level sdk.LogLevel, msg string, keyvals ...any) {
	c.rec.Log(level, msg, keyvals...)
}

func (c *contractEmitter) Progress(done, total int64, unit string) { c.rec.Progress(done, total, unit) }

func (c *contractEmitter) UpdateConfig(values map[string]string) error {
	if err := c.call(); err != nil {
		return err
	}
	return c.rec.UpdateConfig(values)
}

type contractPayload struct {
	sdk.Payload
	c *contractEmitter
}

func (p *contractPayload) Write(b []byte) (int, error) {
	if err := p.c.call(); err != nil {
		return 0, err
	}
	return p.Payload.Write(b)
}

func (p *contractPayload) Close() error {
	if err := p.c.call(); err != nil {
		return err
	}
	return p.Payload.Close()
}

func (p *contractPayload) End(records int64, problems []sdk.Problem) error {
	if err := p.c.call(); err != nil {
		return err
	}
	if err := p.Payload.End(records, problems); err != nil {
		return err
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	delete(p.c.open, p.ID())
	if len(problems) == 0 {
		p.c.ended[p.ID()] = p.c.seq
	} else {
		delete(p.c.rows, p.ID()) // quarantined: none of its rows move on
	}
	return nil
}

// committed returns what the host keeps of the run: the rows per stream
// and the states for the next run (prev updated). A run that succeeded
// keeps everything.
func (c *contractEmitter) committed(succeeded bool, prev map[string][]byte) (map[string][]rowOfBatch, map[string][]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	last, upTo := c.cutLocked(succeeded)
	next := maps.Clone(prev)
	if next == nil {
		next = map[string][]byte{}
	}
	rows := map[string][]rowOfBatch{}
	for _, cp := range c.cps[:last+1] {
		next[cp.stream] = cp.state
	}
	for id, at := range c.ended {
		if at < upTo {
			for stream, rs := range c.rows[id] {
				rows[stream] = append(rows[stream], rs...)
			}
		}
	}
	return rows, next
}

// cutLocked returns the index of the last checkpoint the host commits (-1:
// none) and the seq before which ended payloads are kept.
func (c *contractEmitter) cutLocked(succeeded bool) (last, upTo int) {
	last = -1
	for i, cp := range c.cps {
		if succeeded || cp.clean {
			last = i
		}
	}
	switch {
	case succeeded:
		return last, int(^uint(0) >> 1)
	case last < 0:
		return -1, 0
	}
	return last, c.cps[last].seq
}

// resumeRun is one run of a resume scenario.
type resumeRun struct {
	cut       int               // emitter calls before the cut; 0 runs to the end
	at        time.Time         // the run's clock
	transport http.RoundTripper // nil: the default
}

// runScenario runs the source through runs, each with the state the host
// committed after the previous one, until a run succeeds, and returns the
// rows the host holds in the end and the last states.
func runScenario(t *testing.T, cfg sdk.Config, runs []resumeRun) (map[string][]rowOfBatch, map[string][]byte, []*contractEmitter) {
	t.Helper()
	held := map[string][]rowOfBatch{}
	var state map[string][]byte
	var emitters []*contractEmitter
	for i, r := range runs {
		ctx, cancel := context.WithCancel(t.Context())
		src := testSource(&clock{t: r.at}, nil)
		if r.transport != nil {
			src.transport = r.transport
		}
		e := newContractEmitter(t, cancel, r.cut)
		err := src.Read(ctx, sdk.ReadRequest{Config: cfg, State: state}, e)
		cancel()
		if r.cut == 0 && r.transport == nil {
			require.NoError(t, err, "run %d", i+1)
		}
		rows, next := e.committed(err == nil, state)
		for s, rs := range rows {
			held[s] = append(held[s], rs...)
		}
		state = next
		emitters = append(emitters, e)
		if err == nil {
			break
		}
	}
	return held, state, emitters
}

// requireSameRows checks that the host holds exactly the rows of an
// uninterrupted run, stream by stream. The Web API rows must all be of the
// one snapshot the final state names: the snapshot a cut run started, when
// it committed anything, carried on by the runs that resumed it.
func requireSameRows(t *testing.T, want, got map[string][]rowOfBatch, final map[string][]byte, msgAndArgs ...any) {
	t.Helper()
	var snap int64
	if b := final[StreamArtists]; b != nil {
		st, err := ParseAPIState(b)
		require.NoError(t, err)
		require.True(t, st.Done, msgAndArgs...)
		snap = st.SnapshotAt.UnixMicro()
	}
	for _, s := range Streams() {
		w := want[s.Name]
		if s.Schema.Index("snapshot_at") >= 0 {
			w = make([]rowOfBatch, len(want[s.Name]))
			for i, r := range want[s.Name] {
				w[i] = maps.Clone(r)
				w[i]["snapshot_at"] = snap
			}
		}
		require.Equal(t, canon(w), canon(got[s.Name]), append([]any{s.Name}, msgAndArgs...)...)
	}
}

// resumeConfig is a configuration reading the Web API from a fresh
// emulator and the sample exports.
func resumeConfig(t *testing.T, s4a bool) sdk.Config {
	_, cfg := startEmulator(t, emulator.Options{ShortPages: 3})
	if s4a {
		cfg = withConfig(cfg, ParamS4ADir, sampleDir)
	}
	return cfg
}

// calls counts the emitter calls of an uninterrupted run.
func calls(t *testing.T, cfg sdk.Config) (int, map[string][]rowOfBatch) {
	t.Helper()
	rows, _, es := runScenario(t, cfg, []resumeRun{{at: t0}})
	return es[0].calls, rows
}

// Cut a run after every possible number of emitter calls, resume an hour
// later, and compare with an uninterrupted run: same rows, same snapshot.
func TestResumeAfterCutAtEveryPoint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		s4a  bool
		api  bool
	}{{"api", false, true}, {"s4a", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := sdk.Config{ParamS4ADir: sampleDir}
			if tc.api {
				cfg = resumeConfig(t, tc.s4a)
			}
			n, want := calls(t, cfg)
			require.Greater(t, n, 20)
			for cut := 1; cut < n; cut++ {
				got, state, es := runScenario(t, cfg, []resumeRun{{cut: cut, at: t0}, {at: t0.Add(time.Hour)}})
				requireSameRows(t, want, got, state, "cut after %d of %d calls", cut, n)
				if !tc.api {
					continue
				}
				snap := t0.Add(time.Hour)
				if _, first := es[0].committed(false, nil); first[StreamArtists] != nil {
					snap = t0 // the cut run committed a part: the next run finishes its snapshot
				}
				for _, s := range APIStreams() {
					st, err := ParseAPIState(state[s.Name])
					require.NoError(t, err)
					require.True(t, st.Done, "cut %d: %s", cut, s.Name)
					require.Equal(t, snap.Truncate(time.Microsecond), st.SnapshotAt, "cut %d: %s", cut, s.Name)
				}
			}
		})
	}
}

// Ten cuts at random moments, then a clean run: the host holds what an
// uninterrupted run gives.
func TestResumeAfterTenRandomCuts(t *testing.T) {
	t.Parallel()
	cfg := resumeConfig(t, true)
	n, want := calls(t, cfg)
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 2026))
		var runs []resumeRun
		at := t0
		for range 10 {
			runs = append(runs, resumeRun{cut: 1 + rng.IntN(n/3), at: at})
			at = at.Add(30 * time.Minute)
		}
		runs = append(runs, resumeRun{at: at})
		got, state, es := runScenario(t, cfg, runs)
		require.Greater(t, len(es), 1, "seed %d: at least one cut", seed)
		requireSameRows(t, want, got, state, "seed %d", seed)
	}
}

// failingTransport serves the first ok requests and answers 503 after.
type failingTransport struct {
	mu sync.Mutex
	ok int
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.ok--
	down := f.ok < 0
	f.mu.Unlock()
	if down {
		return fixedTransport{status: http.StatusServiceUnavailable, body: `{"error":{"status":503,"message":"Service unavailable"}}`}.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// The API going down mid-run fails the run as transient, and the next run
// continues where the committed data ends.
func TestResumeAfterAPIOutage(t *testing.T) {
	t.Parallel()
	cfg := resumeConfig(t, false)
	_, want := calls(t, cfg)
	for _, ok := range []int{1, 4, 9, 15, 22} {
		ctx, cancel := context.WithCancel(t.Context())
		e := newContractEmitter(t, cancel, 0)
		src := testSource(&clock{t: t0}, nil)
		src.transport = &failingTransport{ok: ok}
		err := src.Read(ctx, sdk.ReadRequest{Config: cfg}, e)
		cancel()
		require.Error(t, err)
		require.Equal(t, sdk.KindTransient, sdk.KindOf(err), "%v", err)
		require.Contains(t, err.Error(), "next run continues", "says what happens next")
		rows, state := e.committed(false, nil)
		e2 := newEmitRecorder(t)
		require.NoError(t, testSource(&clock{t: t0.Add(2 * time.Hour)}, nil).Read(t.Context(), sdk.ReadRequest{Config: cfg, State: state}, e2))
		for _, s := range APIStreams() {
			rows[s.Name] = append(rows[s.Name], e2.Rows(s.Name)...)
		}
		final := maps.Clone(state)
		maps.Copy(final, states(e2))
		requireSameRows(t, want, rows, final, "outage after %d requests", ok)
	}
}

// An unfinished snapshot older than 12 hours is not continued: the next run
// takes a whole new snapshot, and the partial one stays as it is.
func TestStaleSnapshotIsNotContinued(t *testing.T) {
	t.Parallel()
	cfg := resumeConfig(t, false)
	n, _ := calls(t, cfg)
	later := t0.Add(13 * time.Hour)
	fresh, _, _ := runScenario(t, cfg, []resumeRun{{at: later}})
	got, _, es := runScenario(t, cfg, []resumeRun{{cut: n / 2, at: t0}, {at: later}})
	partial, _ := es[0].committed(false, nil)
	require.NotEmpty(t, partial[StreamArtists])
	for _, s := range APIStreams() {
		require.Equal(t, canon(append(append([]rowOfBatch(nil), partial[s.Name]...), fresh[s.Name]...)), canon(got[s.Name]), s.Name)
	}
	require.Contains(t, logText(es[1].rec), "cannot be continued")

	// A finished snapshot is followed by a new one, even an hour later.
	e := newEmitRecorder(t)
	require.NoError(t, testSource(&clock{t: t0}, nil).Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))
	e2 := newEmitRecorder(t)
	require.NoError(t, testSource(&clock{t: t0.Add(time.Hour)}, nil).Read(t.Context(), sdk.ReadRequest{Config: cfg, State: states(e)}, e2))
	require.Len(t, e2.Rows(StreamArtists), 3)
	require.Equal(t, t0.Add(time.Hour).Truncate(time.Microsecond).UnixMicro(), e2.Rows(StreamArtists)[0]["snapshot_at"])
	// Even when the clock has not moved.
	e3 := newEmitRecorder(t)
	require.NoError(t, testSource(&clock{t: t0}, nil).Read(t.Context(), sdk.ReadRequest{Config: cfg, State: states(e)}, e3))
	require.Len(t, e3.Rows(StreamArtists), 3)
}

// A changed artist list starts a new snapshot rather than continuing one
// whose positions no longer match.
func TestChangedArtistsStartNewSnapshot(t *testing.T) {
	t.Parallel()
	cfg := resumeConfig(t, false)
	ctx, cancel := context.WithCancel(t.Context())
	e := newContractEmitter(t, cancel, 8)
	err := testSource(&clock{t: t0}, nil).Read(ctx, sdk.ReadRequest{Config: cfg}, e)
	cancel()
	require.Error(t, err)
	_, state := e.committed(false, nil)
	st, err := ParseAPIState(state[StreamArtists])
	require.NoError(t, err)
	require.False(t, st.Done)
	require.Equal(t, 1, st.NextArtist)

	two := withConfig(cfg, ParamArtistIDs, emulator.OrjanOdegardID+","+emulator.OskerWyldID)
	e2 := newEmitRecorder(t)
	later := t0.Add(time.Hour)
	require.NoError(t, testSource(&clock{t: later}, nil).Read(t.Context(), sdk.ReadRequest{Config: two, State: state}, e2))
	require.Len(t, e2.Rows(StreamArtists), 2)
	for _, r := range e2.Rows(StreamArtists) {
		require.Equal(t, later.Truncate(time.Microsecond).UnixMicro(), r["snapshot_at"])
	}
	require.Contains(t, logText(e2), "artist_ids changed")
}

// An unreadable state is not fatal for the Web API streams: a new snapshot
// starts. For the export streams it is: which files were read is unknown.
func TestUnreadableState(t *testing.T) {
	t.Parallel()
	cfg := withConfig(resumeConfig(t, false), ParamS4ADir, sampleDir)
	bad := map[string][]byte{StreamArtists: []byte("{not json"), StreamAlbums: []byte(`{"next_artist":7,"artist_ids":[]}`)}
	e := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, State: bad, Streams: []string{StreamArtists, StreamAlbums}}, e))
	require.Len(t, e.Rows(StreamArtists), 3)
	require.Contains(t, logText(e), "unreadable")

	err := fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, State: map[string][]byte{StreamS4ASongs: []byte("[")}}, newEmitRecorder(t))
	require.ErrorContains(t, err, "reset the stream's state")
}

// A version 0.1 state ({"last_run":…}) starts a new snapshot.
func TestOldStateStartsNewSnapshot(t *testing.T) {
	t.Parallel()
	cfg := resumeConfig(t, false)
	old := map[string][]byte{}
	for _, s := range APIStreams() {
		old[s.Name] = []byte(`{"last_run":"2026-03-09T12:00:00Z"}`)
	}
	e := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, State: old}, e))
	require.Len(t, e.Rows(StreamArtists), 3)
}

// An export dropped between two cut runs is read too.
func TestResumeWithNewExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyDir(t, sampleDir, dir)
	cfg := sdk.Config{ParamS4ADir: dir}
	ctx, cancel := context.WithCancel(t.Context())
	e := newContractEmitter(t, cancel, 12)
	require.Error(t, fixedSource().Read(ctx, sdk.ReadRequest{Config: cfg}, e))
	cancel()
	rows, state := e.committed(false, nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Lighthouse-timeline.csv"), []byte("\ufeffdate,streams\n2026-03-01,7\n"), 0o644))
	e2 := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg, State: state}, e2))
	total := 0
	for _, s := range S4AStreams() {
		total += len(rows[s.Name]) + len(e2.Rows(s.Name))
		requireNoDuplicates(t, s.Name, append(rows[s.Name], e2.Rows(s.Name)...))
	}
	want := 1
	for _, n := range sampleRows {
		want += n
	}
	require.Equal(t, want, total)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o644))
	}
}
