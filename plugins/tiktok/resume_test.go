package tiktok

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// resumeOpts make the API as awkward as it gets for resuming: videos are
// repeated across pages (so the first page after a resume repeats a video
// that was committed), and pages come short and empty.
var resumeOpts = emulator.Options{VideoCount: 40, DuplicateAcrossPages: true, ShortPages: true}

// killedRun reads with the plugin killed after budget emitter calls (or
// when data request killAt is sent), and returns what the host commits
// and the configuration the next run gets.
func killedRun(t *testing.T, f *fixture, cfg sdk.Config, state map[string][]byte, budget, killAt int) ([]rowKey, map[string][]byte, sdk.Config, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	src := *f.src
	if killAt > 0 {
		src.transport = &killingTransport{next: f.src.transport, killAt: killAt, cancel: cancel}
	}
	k := newKiller(f.recorder(t), budget, cancel)
	err := src.Read(ctx, sdk.ReadRequest{Config: cfg, State: state}, k)
	rows, next := k.committed(state, err == nil)
	return rows, next, k.rec.Config(cfg), err
}

// cleanCalls is how many counted emitter calls an uninterrupted run makes.
func cleanCalls(t *testing.T) int {
	f := newFixture(t, resumeOpts)
	k := newKiller(f.recorder(t), -1, func() {})
	require.NoError(t, f.src.Read(t.Context(), sdk.ReadRequest{Config: f.cfg}, k))
	return k.Calls()
}

// TestResumeAfterKillAtEveryEmitterCall kills the plugin at every emitter
// call of a run in turn (mid-payload, between a payload's end and its
// checkpoint, …), commits what the host commits, and resumes: the union
// of the committed rows must be one uninterrupted snapshot.
func TestResumeAfterKillAtEveryEmitterCall(t *testing.T) {
	t.Parallel()
	total := cleanCalls(t)
	require.Greater(t, total, 30)
	for budget := range total {
		t.Run(fmt.Sprint("after call ", budget), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, resumeOpts)
			rows, state, cfg, err := killedRun(t, f, f.cfg, nil, budget, 0)
			require.Error(t, err)
			at := testStart
			if state[StreamVideos] == nil {
				at = testStart.Add(10 * time.Minute) // killed before the snapshot was recorded
			}
			f.clock.Add(10 * time.Minute)
			more, state, _, err := killedRun(t, f, cfg, state, -1, 0)
			require.NoError(t, err)
			requireOneSnapshot(t, f, append(rows, more...), at)
			var st videosState
			require.NoError(t, json.Unmarshal(state[StreamVideos], &st))
			require.True(t, st.Done)
		})
	}
}

// TestResumeAfterKillAtEveryRequest kills the plugin while it waits for
// each data request in turn.
func TestResumeAfterKillAtEveryRequest(t *testing.T) {
	t.Parallel()
	f := newFixture(t, resumeOpts)
	_, _, _, err := killedRun(t, f, f.cfg, nil, -1, 0)
	require.NoError(t, err)
	requests := f.srv.Counts().UserInfo + f.srv.Counts().VideoList
	require.Greater(t, requests, 8)
	for killAt := 1; killAt <= requests; killAt++ {
		t.Run(fmt.Sprint("request ", killAt), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, resumeOpts)
			rows, state, cfg, err := killedRun(t, f, f.cfg, nil, -1, killAt)
			require.ErrorIs(t, err, context.Canceled)
			f.clock.Add(10 * time.Minute)
			more, _, _, err := killedRun(t, f, cfg, state, -1, 0)
			require.NoError(t, err)
			requireOneSnapshot(t, f, append(rows, more...), testStart)
		})
	}
}

// TestTenRandomKills kills the plugin at ten random moments in a row (each
// run resuming the last), then lets a run finish: every snapshot in the
// committed rows is complete and holds every video exactly once.
func TestTenRandomKills(t *testing.T) {
	t.Parallel()
	total := cleanCalls(t)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 0))
			f := newFixture(t, resumeOpts)
			cfg, state := f.cfg, map[string][]byte(nil)
			var all []rowKey
			for range 10 {
				var rows []rowKey
				var err error
				if rng.IntN(2) == 0 {
					rows, state, cfg, err = killedRun(t, f, cfg, state, rng.IntN(total), 0)
				} else {
					rows, state, cfg, err = killedRun(t, f, cfg, state, -1, 1+rng.IntN(8))
				}
				if err == nil {
					t.Log("this run finished before the kill")
				}
				all = append(all, rows...)
				f.clock.Add(7 * time.Minute)
			}
			rows, _, _, err := killedRun(t, f, cfg, state, -1, 0)
			require.NoError(t, err)
			all = append(all, rows...)

			bySnapshot := map[int64][]rowKey{}
			for _, r := range all {
				bySnapshot[r.snapshotAt] = append(bySnapshot[r.snapshotAt], r)
			}
			require.NotEmpty(t, bySnapshot)
			for at, rows := range bySnapshot {
				requireOneSnapshot(t, f, rows, time.UnixMicro(at).UTC())
			}
		})
	}
}

// TestStaleSnapshotIsLeftIncomplete: an unfinished snapshot that began 12
// hours or more ago is not continued; the run says so and takes a new one.
func TestStaleSnapshotIsLeftIncomplete(t *testing.T) {
	t.Parallel()
	f := newFixture(t, resumeOpts)
	_, state, cfg, err := killedRun(t, f, f.cfg, nil, 20, 0)
	require.Error(t, err)
	var st videosState
	require.NoError(t, json.Unmarshal(state[StreamVideos], &st))
	require.False(t, st.Done)
	require.Positive(t, st.Videos)

	f.clock.Add(12 * time.Hour)
	rec, err := f.read(t, cfg, state)
	require.NoError(t, err)
	require.Contains(t, logText(rec), "TikTok snapshot 2026-11-07T10:00:00Z stays incomplete")
	now := testStart.Add(12 * time.Hour)
	requireVideos(t, f.srv.Videos(), rec.Rows(StreamVideos), now, f.srv.Account().OpenID)
	require.Len(t, rec.Rows(StreamUserInfo), 1)
	require.Equal(t, now.UnixMicro(), rec.Rows(StreamUserInfo)[0]["snapshot_at"])

	// Just under 12 hours, the snapshot is continued.
	f2 := newFixture(t, resumeOpts)
	_, state, cfg, err = killedRun(t, f2, f2.cfg, nil, 20, 0)
	require.Error(t, err)
	f2.clock.Add(12*time.Hour - time.Second)
	rec, err = f2.read(t, cfg, state)
	require.NoError(t, err)
	require.NotContains(t, logText(rec), "stays incomplete")
	require.Contains(t, logText(rec), "continuing the unfinished TikTok snapshot")
	for _, r := range rec.Rows(StreamVideos) {
		require.Equal(t, testStart.UnixMicro(), r["snapshot_at"])
	}
}

func TestUnreadableStateIsAConfigError(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{})
	for _, stream := range []string{StreamVideos, StreamUserInfo} {
		_, err := f.read(t, f.cfg, map[string][]byte{stream: []byte("{not json")})
		require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
		require.ErrorContains(t, err, "saved state of stream "+stream)
	}
	require.Zero(t, f.srv.Counts().VideoList)
}

// TestCancelledReadStops: a cancelled Read returns the context's error and
// sends nothing after it.
func TestCancelledReadStops(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rec := f.recorder(t)
	err := f.src.Read(ctx, sdk.ReadRequest{Config: f.cfg}, rec)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, rec.Payloads())
	require.Empty(t, rec.Checkpoints(StreamVideos))
	require.Zero(t, f.srv.Counts().Token)
}

// TestResumeStartsAtTheCursor: the resumed run asks for the page after the
// last committed one, not for the pages already stored, and names its
// payloads after the pages they hold.
func TestResumeStartsAtTheCursor(t *testing.T) {
	t.Parallel()
	f := newFixture(t, resumeOpts)
	_, state, cfg, err := killedRun(t, f, f.cfg, nil, 20, 0)
	require.Error(t, err)
	var st videosState
	require.NoError(t, json.Unmarshal(state[StreamVideos], &st))
	require.Equal(t, 2, st.Pages)
	require.Positive(t, st.Cursor)

	before := f.srv.Counts()
	rec, err := f.read(t, cfg, state)
	require.NoError(t, err)
	require.Equal(t, before.UserInfo, f.srv.Counts().UserInfo, "the snapshot's profile is already stored")
	ps := rec.Payloads()
	require.Equal(t, "videos-20261107T100000Z-pages-0003-0004.jsonl", ps[0].Name)
	first := lines(t, ps[0].Data)[0]
	require.EqualValues(t, st.Cursor, first.Request.Params["cursor"], "float64 holds a cursor in ms exactly")
	var end videosState
	require.NoError(t, json.Unmarshal(lastStates(rec, StreamVideos)[StreamVideos], &end))
	require.Equal(t, end.Pages-st.Pages, f.srv.Counts().VideoList-before.VideoList, "no page read twice")
}
