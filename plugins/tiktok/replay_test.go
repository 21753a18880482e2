package tiktok

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// landed is what the host would keep of live runs: their payloads, in
// order, and the rows of each stream.
type landed struct {
	payloads []*sdktest.RecordedPayload
	rows     map[string][]map[string]any
}

func (l *landed) add(rec *sdktest.Recorder) {
	if l.rows == nil {
		l.rows = map[string][]map[string]any{}
	}
	l.payloads = append(l.payloads, rec.Payloads()...)
	for _, s := range Streams(true) {
		l.rows[s.Name] = append(l.rows[s.Name], rec.Rows(s.Name)...)
	}
}

// writePayloads writes each payload to a folder of its own under its name,
// as the host does for a replay, and returns the paths.
func writePayloads(t *testing.T, payloads []*sdktest.RecordedPayload) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, p := range payloads {
		require.True(t, p.Ended, p.Name)
		sub := filepath.Join(dir, strconv.Itoa(i))
		require.NoError(t, os.Mkdir(sub, 0o700))
		path := filepath.Join(sub, p.Name)
		require.NoError(t, os.WriteFile(path, p.Data, 0o600))
		paths = append(paths, path)
	}
	return paths
}

// withFiles returns cfg with files set to paths.
func withFiles(cfg sdk.Config, paths []string) sdk.Config {
	out := maps.Clone(cfg)
	if out == nil {
		out = sdk.Config{}
	}
	out[ParamFiles] = strings.Join(paths, string(os.PathListSeparator))
	return out
}

// replayRead replays paths with cfg through src (a source that can reach
// no network when nil) and returns what it emitted.
func replayRead(t *testing.T, src *Source, cfg sdk.Config, paths []string, streams ...string) (*sdktest.Recorder, error) {
	t.Helper()
	if src == nil {
		src = NewSource().(*Source)
		src.transport = noNetwork{t: t}
	}
	rec := sdktest.NewRecorder(t, Streams(true))
	err := src.Read(t.Context(), sdk.ReadRequest{Config: withFiles(cfg, paths), Streams: streams}, rec)
	return rec, err
}

// noNetwork fails the test on any HTTP request.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("replay sent a request: %s %s", r.Method, r.URL)
	return nil, errors.New("no network in a replay")
}

// requireSameOutput checks that a replay sent the landed payloads byte for
// byte, under the same names, with the same records and problems, and the
// same rows of every stream, and no checkpoint or configuration update.
func requireSameOutput(t *testing.T, want landed, rec *sdktest.Recorder) {
	t.Helper()
	got := rec.Payloads()
	require.Len(t, got, len(want.payloads))
	for i, w := range want.payloads {
		g := got[i]
		require.Equal(t, w.Name, g.Name)
		require.Equal(t, w.MediaType, g.MediaType, w.Name)
		require.Equal(t, w.Digest(), g.Digest(), w.Name)
		require.Equal(t, string(w.Data), string(g.Data), w.Name)
		require.True(t, g.Ended, w.Name)
		require.Equal(t, w.Records, g.Records, w.Name)
		require.Equal(t, w.Rows, g.Rows, w.Name)
		require.Equal(t, w.Problems, g.Problems, w.Name)
	}
	for _, s := range Streams(true) {
		require.Equal(t, want.rows[s.Name], rec.Rows(s.Name), "rows of %s", s.Name)
		require.Empty(t, rec.Checkpoints(s.Name), "a replay changes no state")
	}
	require.Empty(t, rec.ConfigUpdates())
}

// notes returns the bedrot note of every line of a payload.
func notes(t *testing.T, data []byte) []lineNote {
	t.Helper()
	var out []lineNote
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l == "" {
			continue
		}
		var line struct {
			Note *lineNote `json:"bedrot"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &line))
		require.NotNil(t, line.Note, "every line carries its note")
		out = append(out, *line.Note)
	}
	return out
}

// TestReplayRebuildsEveryPayload lands three runs — one cut off mid-way
// while waiting for TikTok, the run that finishes its snapshot (videos
// repeated across pages, so resumed pages skip videos the first run
// stored), and the next day's snapshot, each with the Accounts API — and
// replays the landed payloads: the replay must send every payload byte for
// byte with the same rows of every stream, and TikTok must see no request.
func TestReplayRebuildsEveryPayload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(resumeOpts))
	var live landed

	// Run 1 dies while it waits for the fourth page (data request 5).
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := *f.src
	src.transport = &killingTransport{next: f.src.transport, killAt: 5, cancel: cancel}
	rec := f.recorder(t)
	err := src.Read(ctx, sdk.ReadRequest{Config: f.cfg}, rec)
	require.ErrorIs(t, err, context.Canceled)
	for _, p := range rec.Payloads() {
		require.True(t, p.Ended, "every payload sent before the kill ended and was checkpointed: %s", p.Name)
	}
	live.add(rec)
	state, cfg := lastStates(rec, StreamUserInfo, StreamVideos, StreamBusinessMetrics), rec.Config(f.cfg)

	// Run 2 finishes the snapshot, 10 minutes later.
	f.clock.Add(10*time.Minute + 123456789*time.Nanosecond)
	rec, err = f.read(t, cfg, state)
	require.NoError(t, err)
	require.Contains(t, logText(rec), "continuing the unfinished TikTok snapshot")
	live.add(rec)
	resumed := rec.Payloads()[0]
	require.True(t, strings.HasPrefix(resumed.Name, "videos-20261107T100000Z-pages-0003-"), resumed.Name)
	require.NotEmpty(t, notes(t, resumed.Data)[0].AlreadyEmitted, "the resumed page repeats a video the first run stored")
	state, cfg = lastStates(rec, StreamUserInfo, StreamVideos, StreamBusinessMetrics), rec.Config(cfg)

	// Run 3 is the next day's snapshot; its clock is not on a whole second.
	f.clock.Add(24 * time.Hour)
	f.srv.AdvanceDay()
	rec, err = f.read(t, cfg, state)
	require.NoError(t, err)
	live.add(rec)

	// What the replay has to reproduce.
	require.GreaterOrEqual(t, len(live.payloads), 12)
	multiPage, skipping := 0, 0
	for _, p := range live.payloads {
		require.Empty(t, p.Problems, p.Name)
		ns := notes(t, p.Data)
		if len(ns) > 1 {
			multiPage++
		}
		for _, n := range ns {
			if len(n.AlreadyEmitted) > 0 {
				skipping++
			}
		}
	}
	require.Greater(t, multiPage, 4, "payloads of several pages")
	require.Greater(t, skipping, 2, "pages that repeat videos")
	snapshots := map[int64]bool{}
	for _, r := range live.rows[StreamVideos] {
		snapshots[r["snapshot_at"].(int64)] = true
	}
	require.Len(t, snapshots, 2)
	require.Contains(t, snapshots, testStart.UnixMicro(), "the resumed rows keep the snapshot's time")
	require.Contains(t, snapshots, testStart.Add(24*time.Hour+10*time.Minute+123456*time.Microsecond).UnixMicro())
	require.Len(t, live.rows[StreamUserInfo], 2)
	require.NotEmpty(t, live.rows[StreamBusinessMetrics])
	requireVideos(t, f.srv.Videos(), live.rows[StreamVideos][len(live.rows[StreamVideos])-40:],
		testStart.Add(24*time.Hour+10*time.Minute+123456*time.Microsecond), f.srv.Account().OpenID)

	paths := writePayloads(t, live.payloads)
	before := f.srv.Counts()

	t.Run("with the source's configuration", func(t *testing.T) {
		// The source reaches the emulator, so a request would count.
		rec, err := replayRead(t, f.src, cfg, paths)
		require.NoError(t, err)
		requireSameOutput(t, live, rec)
		require.Contains(t, logText(rec), "replayed without calling TikTok")
	})
	t.Run("with files only", func(t *testing.T) {
		only := sdk.Config{ParamFiles: strings.Join(paths, string(os.PathListSeparator))}
		src := NewSource()
		require.NoError(t, src.Check(t.Context(), only))
		streams, err := src.Discover(t.Context(), only)
		require.NoError(t, err)
		require.Equal(t, Streams(true), streams, "a replay may hold any stream")
		rec, err := replayRead(t, nil, nil, paths)
		require.NoError(t, err)
		requireSameOutput(t, live, rec)
	})
	t.Run("with the Accounts API configured, Check calls nothing", func(t *testing.T) {
		require.NoError(t, f.src.Check(t.Context(), withFiles(cfg, paths)))
	})
	t.Run("selected streams", func(t *testing.T) {
		rec, err := replayRead(t, f.src, cfg, paths, StreamVideos)
		require.NoError(t, err)
		for _, p := range rec.Payloads() {
			require.True(t, strings.HasPrefix(p.Name, "videos-"), p.Name)
		}
		require.Equal(t, live.rows[StreamVideos], rec.Rows(StreamVideos))
		require.Empty(t, rec.Rows(StreamUserInfo))
		require.Empty(t, rec.Rows(StreamBusinessMetrics))
	})
	require.Equal(t, before, f.srv.Counts(), "the emulator saw no request during the replays")
}

// TestReplayNotes checks the note on the lines of each stream: what the
// rows need besides the answer.
func TestReplayNotes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{VideoCount: 9}))
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	openID := f.srv.Account().OpenID
	want := map[string]lineNote{
		"user_info-20261107T100000Z.jsonl":                                    {Stream: StreamUserInfo, SnapshotAt: testStart, OpenID: openID},
		"videos-20261107T100000Z-pages-0001-0002.jsonl":                       {Stream: StreamVideos, SnapshotAt: testStart, OpenID: openID},
		"business_metrics-" + testBusinessID + "-2026-09-09-2026-11-04.jsonl": {Stream: StreamBusinessMetrics, SnapshotAt: testStart},
	}
	for _, p := range rec.Payloads() {
		w, ok := want[p.Name]
		require.True(t, ok, p.Name)
		for _, n := range notes(t, p.Data) {
			require.Equal(t, w.Stream, n.Stream, p.Name)
			require.True(t, w.SnapshotAt.Equal(n.SnapshotAt), p.Name)
			require.Equal(t, w.OpenID, n.OpenID, p.Name)
			require.Empty(t, n.AlreadyEmitted, "no video repeats")
		}
		require.Contains(t, string(p.Data), `"bedrot":{"stream":"`+w.Stream+`","snapshot_at":"2026-11-07T10:00:00Z"`)
	}
	require.Len(t, rec.Payloads(), 3)
}

// TestReplayQuarantinedPayload: a payload that was quarantined for a video
// it could not read gives the same problems, and the same rows, again.
func TestReplayQuarantinedPayload(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 20})
	victim := f.srv.Videos()[9]
	f.src.transport = rewriteBody{next: f.src.transport, old: `"id":"` + victim.ID + `"`, new: `"id":"` + victim.ID + `","duration":12.5`}
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	var live landed
	live.add(rec)
	require.Len(t, live.payloads[1].Problems, 1)

	rec, err = replayRead(t, f.src, f.cfg, writePayloads(t, live.payloads))
	require.NoError(t, err)
	requireSameOutput(t, live, rec)
	require.Equal(t, "data.videos[2].duration", rec.Payloads()[1].Problems[0].Field)
}

// TestReplayUnreadableFiles: a file that is not a landing payload of this
// connector, or has a line that cannot be read, is sent as it is with a
// problem naming the file, line and field and no rows; the other files
// replay as usual, and TikTok sees no request.
func TestReplayUnreadableFiles(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 12})
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)
	ps := rec.Payloads()
	require.Len(t, ps, 2)
	user, videos := string(ps[0].Data), string(ps[1].Data)
	require.Len(t, notes(t, ps[1].Data), 2)
	videoLines := strings.SplitAfter(videos, "\n")
	before := f.srv.Counts()

	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(data), 0o600))
		return path
	}
	noteOf := func(line string) string { return line[strings.Index(line, `,"bedrot":`):strings.LastIndex(line, "}")] }
	cases := []struct {
		name, data   string
		line         int64
		field, words string
	}{
		{"empty.jsonl", "", 1, "", "the file is empty"},
		{"notes.txt", "hello\n", 1, "", "not a TikTok landing line"},
		{"old.jsonl", strings.Replace(user, noteOf(user), "", 1), 1, "bedrot", "has no bedrot note"},
		{"other.jsonl", strings.Replace(user, `"stream":"user_info"`, `"stream":"comments"`, 1), 1, "bedrot.stream", `unknown stream "comments"`},
		{"cut.jsonl", videoLines[0] + videoLines[1][:len(videoLines[1])/2], 2, "", "not a TikTok landing line"},
		{"blank.jsonl", videoLines[0] + "\n" + videoLines[1], 2, "", "the line is empty"},
		{"mixed.jsonl", user + videoLines[0], 2, "bedrot", "a payload holds the answers of one stream and snapshot"},
		{"two-profiles.jsonl", user + user, 2, "", "a user_info payload holds one answer"},
		{"throttled.jsonl", strings.Replace(user, `"code":"ok"`, `"code":"rate_limit_exceeded"`, 1), 1, "body", `error.code is "rate_limit_exceeded"`},
		{"cursor.jsonl", strings.Replace(videoLines[1], `"params":{"cursor":`, `"params":{"cursor":"x","was":`, 1), 1, "request.params.cursor", "not a number"},
	}
	var paths []string
	for _, c := range cases {
		paths = append(paths, write(c.name, c.data))
	}
	good := write("videos-20261107T100000Z-pages-0001-0002.jsonl", videos)
	paths = append(paths, good)

	rec, err = replayRead(t, f.src, rec.Config(f.cfg), paths)
	require.NoError(t, err)
	got := rec.Payloads()
	require.Len(t, got, len(cases)+1)
	for i, c := range cases {
		p := got[i]
		require.Equal(t, c.name, p.Name)
		require.Equal(t, c.data, string(p.Data), "%s is sent as it is", c.name)
		require.True(t, p.Ended, c.name)
		require.Zero(t, p.Records, c.name)
		require.Zero(t, p.Rows, c.name)
		require.NotEmpty(t, p.Problems, c.name)
		pr := p.Problems[0]
		require.Equal(t, c.name, pr.File)
		require.Equal(t, c.line, pr.Line, "%s: %+v", c.name, pr)
		require.Equal(t, c.field, pr.Field, "%s: %+v", c.name, pr)
		require.Contains(t, pr.Message, c.words, c.name)
	}
	last := got[len(cases)]
	require.Empty(t, last.Problems)
	require.Equal(t, videos, string(last.Data))
	require.Len(t, rec.Rows(StreamVideos), 12, "only the good file has rows")
	require.Contains(t, logText(rec), "quarantined")
	require.Equal(t, before, f.srv.Counts(), "the emulator saw no request during the replay")

	// A file that is not there is a configuration error, before anything
	// is sent.
	missing := filepath.Join(dir, "gone.jsonl")
	rec, err = replayRead(t, nil, nil, []string{good, missing})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, missing)
	require.Empty(t, rec.Payloads())
	err = NewSource().Check(t.Context(), sdk.Config{ParamFiles: missing})
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, missing)
	err = NewSource().Check(t.Context(), sdk.Config{ParamFiles: dir})
	require.ErrorContains(t, err, "not a regular file")
}

func TestSpecHasFiles(t *testing.T) {
	t.Parallel()
	var files *sdk.Param
	for _, p := range Spec().Params {
		if p.Name == ParamFiles {
			files = &p
		}
	}
	require.NotNil(t, files)
	require.Equal(t, "Set by `bedrot replay`: landing payloads to re-read instead of calling the API; leave empty.", files.Description)
	require.False(t, files.Required)
	require.False(t, files.Secret)
}
