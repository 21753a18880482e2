package tiktok

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// Credentials the tests configure; none of them may show up in anything
// the source emits.
const (
	testClientKey     = "ck_label_app_4711"
	testClientSecret  = "cs_very_secret_client_value_0815"
	testRefreshToken  = "rft.initial_refresh_token_value_1234"
	testBusinessID    = "-000bizlabel0001"
	testBusinessToken = "biz_access_token_secret_value_9876"
)

// testStart is the tests' "now".
var testStart = time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)

// clock is a settable clock shared by the emulator and the source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testStart} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// sleeper is a Sleep that returns at once and records the delays.
type sleeper struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) Delays() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// fixture is an emulator, a working configuration for it and a source
// wired to the same clock, with instant sleeps.
type fixture struct {
	srv   *emulator.Server
	cfg   sdk.Config
	clock *clock
	sleep *sleeper
	src   *Source
}

// newFixture starts an emulator with test credentials layered over opts (a
// zero VideoCount becomes 40, a negative one no videos) and returns a fixture whose source reads
// pagesPerPayload pages per payload.
func newFixture(t *testing.T, opts emulator.Options) *fixture {
	t.Helper()
	clk := newClock()
	opts.ClientKey, opts.ClientSecret, opts.RefreshToken = testClientKey, testClientSecret, testRefreshToken
	switch {
	case opts.VideoCount == 0:
		opts.VideoCount = 40
	case opts.VideoCount < 0:
		opts.VideoCount = 0
	}
	if opts.Seed == 0 {
		opts.Seed = 11
	}
	opts.Now = clk.Now
	srv := emulator.New(opts)
	base := srv.Start()
	t.Cleanup(srv.Close)
	cfg := sdk.Config{
		ParamClientKey:    testClientKey,
		ParamClientSecret: testClientSecret,
		ParamRefreshToken: testRefreshToken,
		ParamBaseURL:      base,
		ParamTokenURL:     base + "/v2/oauth/token/",
		ParamMaxCount:     "7",
	}
	if opts.BusinessID != "" {
		cfg[ParamBusinessID] = opts.BusinessID
		cfg[ParamBusinessAccessToken] = opts.BusinessAccessToken
		cfg[ParamBusinessBaseURL] = base
	}
	sl := &sleeper{}
	return &fixture{srv: srv, cfg: cfg, clock: clk, sleep: sl, src: &Source{
		now: clk.Now, transport: http.DefaultTransport, sleep: sl.Sleep,
		httpTimeout: 10 * time.Second, pagesPerPayload: 2,
	}}
}

// business returns options for an emulator that also serves the business
// account.
func business(opts emulator.Options) emulator.Options {
	opts.BusinessID, opts.BusinessAccessToken = testBusinessID, testBusinessToken
	return opts
}

// recorder returns a Recorder for the fixture's streams.
func (f *fixture) recorder(t *testing.T) *sdktest.Recorder {
	return sdktest.NewRecorder(t, Streams(f.cfg[ParamBusinessID] != ""))
}

// read runs one Read with cfg and state and returns what it emitted.
func (f *fixture) read(t *testing.T, cfg sdk.Config, state map[string][]byte, streams ...string) (*sdktest.Recorder, error) {
	t.Helper()
	rec := f.recorder(t)
	err := f.src.Read(t.Context(), sdk.ReadRequest{Config: cfg, State: state, Streams: streams}, rec)
	return rec, err
}

// lastStates returns the last checkpoint of every stream.
func lastStates(rec *sdktest.Recorder, streams ...string) map[string][]byte {
	st := map[string][]byte{}
	for _, s := range streams {
		if cps := rec.Checkpoints(s); len(cps) > 0 {
			st[s] = cps[len(cps)-1]
		}
	}
	return st
}

// logText joins the logged messages and their values.
func logText(rec *sdktest.Recorder) string {
	var b strings.Builder
	for _, l := range rec.Logs() {
		b.WriteString(l.Message)
		for _, kv := range l.KeyVals {
			b.WriteString(" ")
			b.WriteString(strings.TrimSpace(strings.ReplaceAll(fmt.Sprint(kv), "\n", " ")))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// requireVideos checks that rows hold every video of want exactly once with
// its content, all taken in the snapshot at.
func requireVideos(t *testing.T, want []emulator.Video, rows []map[string]any, at time.Time, openID string) {
	t.Helper()
	byID := map[string]map[string]any{}
	for _, r := range rows {
		id := r["video_id"].(string)
		require.NotContains(t, byID, id, "video %s emitted twice", id)
		byID[id] = r
	}
	require.Len(t, byID, len(want), "every video once")
	for _, w := range want {
		r, ok := byID[w.ID]
		require.True(t, ok, "video %s missing", w.ID)
		require.Equal(t, w.CreateTime*1_000_000, r["create_time"], w.ID)
		require.Equal(t, w.Title, r["title"], w.ID)
		require.Equal(t, w.VideoDescription, r["video_description"], w.ID)
		require.Equal(t, int64(w.Duration), r["duration_s"], w.ID)
		require.Equal(t, int64(w.Height), r["height"], w.ID)
		require.Equal(t, int64(w.Width), r["width"], w.ID)
		require.Equal(t, w.IsAIGC, r["is_aigc"], w.ID)
		require.Equal(t, w.ViewCount, r["view_count"], w.ID)
		require.Equal(t, w.LikeCount, r["like_count"], w.ID)
		require.Equal(t, w.CommentCount, r["comment_count"], w.ID)
		require.Equal(t, w.ShareCount, r["share_count"], w.ID)
		require.Contains(t, r["share_url"], "/video/"+w.ID+"?", w.ID)
		require.Contains(t, r["cover_image_url"], "x-expires=", w.ID)
		require.Equal(t, openID, r["open_id"], w.ID)
		require.Equal(t, at.UnixMicro(), r["snapshot_at"], w.ID)
		require.Equal(t, at.Format(time.DateOnly), r["snapshot_date"], w.ID)
	}
}

// rowKey identifies a row for the commit bookkeeping.
type rowKey struct {
	stream     string
	key        string // video_id, open_id or date
	snapshotAt int64
}

// event is one emitter call that went through to the host.
type event struct {
	kind    string // begin, end, checkpoint
	payload string
	stream  string
	state   []byte
	bad     bool // payload ended with problems (quarantined)
}

// killer is an sdk.Emitter in front of a Recorder that lets budget calls
// through (BeginPayload, Write, Close, Batch, End, Checkpoint; budget < 0:
// all) and then "kills the plugin": it cancels the run's context and fails
// every later call, so nothing more reaches the host. UpdateConfig always
// goes through: the host stores it at once, and the only time a rotated
// token can be lost is between TikTok issuing it and that call.
type killer struct {
	rec    *sdktest.Recorder
	budget int
	cancel context.CancelFunc

	mu      sync.Mutex
	calls   int
	dead    bool
	events  []event
	payload map[string][]rowKey // payload id → rows it carried
}

var errKilled = errors.New("plugin killed")

func newKiller(rec *sdktest.Recorder, budget int, cancel context.CancelFunc) *killer {
	return &killer{rec: rec, budget: budget, cancel: cancel, payload: map[string][]rowKey{}}
}

// pass counts a call and reports whether it may go through.
func (k *killer) pass() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.dead {
		return false
	}
	k.calls++
	if k.budget >= 0 && k.calls > k.budget {
		k.dead = true
		k.cancel()
		return false
	}
	return true
}

func (k *killer) record(e event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.events = append(k.events, e)
}

func (k *killer) BeginPayload(name, mediaType string) (sdk.Payload, error) {
	if !k.pass() {
		return nil, errKilled
	}
	p, err := k.rec.BeginPayload(name, mediaType)
	if err != nil {
		return nil, err
	}
	k.record(event{kind: "begin", payload: p.ID()})
	return &killerPayload{Payload: p, k: k}, nil
}

func (k *killer) Batch(b *sdk.RecordBatch) error {
	if !k.pass() {
		return errKilled
	}
	var keyCol, atCol int
	switch b.Stream {
	case StreamVideos:
		keyCol, atCol = VideoColID, VideoColSnapshotAt
	case StreamUserInfo:
		keyCol, atCol = UserColOpenID, UserColSnapshotAt
	case StreamBusinessMetrics:
		keyCol, atCol = BizColDate, BizColSnapshotAt
	}
	var rows []rowKey
	for i := range b.NumRows {
		key := ""
		if b.Stream == StreamBusinessMetrics {
			key = time.Unix(int64(b.Columns[keyCol].Int32s[i])*86400, 0).UTC().Format(time.DateOnly)
		} else {
			key = b.Columns[keyCol].String(i)
		}
		rows = append(rows, rowKey{stream: b.Stream, key: key, snapshotAt: b.Columns[atCol].Int64s[i]})
	}
	k.mu.Lock()
	k.payload[b.PayloadID] = append(k.payload[b.PayloadID], rows...)
	k.mu.Unlock()
	return k.rec.Batch(b)
}

func (k *killer) Checkpoint(stream string, state []byte) error {
	if !k.pass() {
		return errKilled
	}
	k.record(event{kind: "checkpoint", stream: stream, state: append([]byte(nil), state...)})
	return k.rec.Checkpoint(stream, state)
}

func (k *killer) UpdateConfig(values map[string]string) error { return k.rec.UpdateConfig(values) }

func (k *killer) Log(level sdk.LogLevel, msg string, keyvals ...any) {
	k.rec.Log(level, msg, keyvals...)
}

func (k *killer) Progress(done, total int64, unit string) { k.rec.Progress(done, total, unit) }

// Calls is how many counted calls the run made (budget < 0).
func (k *killer) Calls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

// committed applies the host's commit rule to what went through: with
// finished, everything; otherwise every payload that ended before the last
// checkpoint at which no payload was open, with the stream states as of
// that checkpoint. It returns the committed rows (quarantined payloads
// excluded) and the states, starting from prev.
func (k *killer) committed(prev map[string][]byte, finished bool) ([]rowKey, map[string][]byte) {
	k.mu.Lock()
	defer k.mu.Unlock()
	last := -1
	open := map[string]bool{}
	for i, e := range k.events {
		switch e.kind {
		case "begin":
			open[e.payload] = true
		case "end":
			delete(open, e.payload)
		case "checkpoint":
			if len(open) == 0 {
				last = i
			}
		}
	}
	if finished {
		last = len(k.events) - 1
	}
	state := maps.Clone(prev)
	if state == nil {
		state = map[string][]byte{}
	}
	var rows []rowKey
	for _, e := range k.events[:last+1] {
		switch {
		case e.kind == "checkpoint":
			state[e.stream] = e.state
		case e.kind == "end" && !e.bad:
			rows = append(rows, k.payload[e.payload]...)
		}
	}
	return rows, state
}

// killerPayload counts the payload's calls against the killer's budget.
type killerPayload struct {
	sdk.Payload
	k *killer
}

func (p *killerPayload) Write(b []byte) (int, error) {
	if !p.k.pass() {
		return 0, errKilled
	}
	return p.Payload.Write(b)
}

func (p *killerPayload) Close() error {
	if !p.k.pass() {
		return errKilled
	}
	return p.Payload.Close()
}

func (p *killerPayload) End(records int64, problems []sdk.Problem) error {
	if !p.k.pass() {
		return errKilled
	}
	if err := p.Payload.End(records, problems); err != nil {
		return err
	}
	p.k.record(event{kind: "end", payload: p.ID(), bad: len(problems) > 0})
	return nil
}

// killingTransport cancels the run when the data request number killAt is
// about to be sent, as if the plugin died while waiting for TikTok.
type killingTransport struct {
	next   http.RoundTripper
	killAt int
	cancel context.CancelFunc

	mu   sync.Mutex
	data int
}

func (k *killingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/v2/video/list/") || strings.Contains(r.URL.Path, "/v2/user/info/") {
		k.mu.Lock()
		k.data++
		n := k.data
		k.mu.Unlock()
		if n == k.killAt {
			k.cancel()
			return nil, context.Canceled
		}
	}
	return k.next.RoundTrip(r)
}

// rewriteBody replaces old with new in the bodies of video list answers, to
// serve what the emulator would not.
type rewriteBody struct {
	next     http.RoundTripper
	old, new string
}

func (rw rewriteBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := rw.next.RoundTrip(r)
	if err != nil || !strings.Contains(r.URL.Path, "/v2/video/list/") {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = bytes.ReplaceAll(b, []byte(rw.old), []byte(rw.new))
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}
