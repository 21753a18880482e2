package tiktok

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// TestFaultKnobsAreSurvived drives every emulator fault knob a run must get
// through: the run succeeds, its rows equal what the emulator served (each
// video once, content included), and the knob demonstrably fired.
func TestFaultKnobsAreSurvived(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		opts   emulator.Options
		setup  func(f *fixture)
		fired  func(t *testing.T, f *fixture, c emulator.Counts)
		logged string
	}{
		"429 every 3rd request": {
			opts:   emulator.Options{RateLimitEvery: 3},
			fired:  func(t *testing.T, _ *fixture, c emulator.Counts) { require.GreaterOrEqual(t, c.RateLimited, 3) },
			logged: "rate_limit_exceeded",
		},
		"rate_limit_exceeded inside HTTP 200": {
			opts:   emulator.Options{RateLimitEvery: 3, InBodyRateLimit: true},
			fired:  func(t *testing.T, _ *fixture, c emulator.Counts) { require.GreaterOrEqual(t, c.RateLimited, 3) },
			logged: "HTTP 200, error \"rate_limit_exceeded\"",
		},
		"429 storm shorter than the retries": {
			opts: emulator.Options{RateLimitStorm: emulator.Burst{After: 3, Count: displayapi.DefaultMaxRetries}},
			fired: func(t *testing.T, _ *fixture, c emulator.Counts) {
				require.Equal(t, displayapi.DefaultMaxRetries, c.RateLimited)
			},
		},
		"short and empty pages with has_more": {
			opts:  emulator.Options{ShortPages: true},
			fired: func(t *testing.T, _ *fixture, c emulator.Counts) { require.Greater(t, c.VideoList, 40/7+1) },
		},
		"videos repeated across pages": {
			opts:  emulator.Options{DuplicateAcrossPages: true},
			fired: func(t *testing.T, _ *fixture, c emulator.Counts) { require.Greater(t, c.VideoList, 40/7+1) },
		},
		"5xx burst": {
			opts:   emulator.Options{ServerErrors: emulator.Burst{After: 2, Count: 3}},
			fired:  func(t *testing.T, _ *fixture, c emulator.Counts) { require.Equal(t, 3, c.ServerErrors) },
			logged: "HTTP 502",
		},
		"malformed JSON": {
			opts:   emulator.Options{MalformedJSON: emulator.Burst{After: 1, Count: 2, Every: 4}},
			fired:  func(t *testing.T, _ *fixture, c emulator.Counts) { require.GreaterOrEqual(t, c.Malformed, 4) },
			logged: "not valid JSON",
		},
		"slow responses": {
			opts:  emulator.Options{SlowResponses: emulator.Burst{After: 2, Count: 2}, SlowDelay: time.Minute},
			setup: func(f *fixture) { f.src.httpTimeout = 300 * time.Millisecond },
			fired: func(t *testing.T, f *fixture, c emulator.Counts) {
				require.Equal(t, 2, c.Slowed)
				f.srv.Close() // waits for the held-back requests to finish
				require.Equal(t, 2, f.srv.Counts().Abandoned)
			},
			logged: "Client.Timeout",
		},
		"access tokens expire mid-run": {
			opts: emulator.Options{ExpireTokensEvery: 3},
			fired: func(t *testing.T, _ *fixture, c emulator.Counts) {
				require.GreaterOrEqual(t, c.Expired, 2)
				require.Equal(t, c.Expired, c.Unauthorized, "each expiry costs one rejected request")
				require.Equal(t, c.Expired+1, c.Refreshed, "and one refresh")
			},
			logged: "TikTok access token rejected; refreshing",
		},
		"everything at once": {
			opts: emulator.Options{
				RateLimitEvery: 5, InBodyRateLimit: true, ShortPages: true, DuplicateAcrossPages: true,
				ServerErrors: emulator.Burst{After: 4, Count: 1, Every: 6}, MalformedJSON: emulator.Burst{After: 7, Count: 1, Every: 9},
				ExpireTokensEvery: 7,
			},
			fired: func(t *testing.T, _ *fixture, c emulator.Counts) {
				require.Positive(t, c.RateLimited)
				require.Positive(t, c.ServerErrors)
				require.Positive(t, c.Malformed)
				require.Positive(t, c.Expired)
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts)
			if tc.setup != nil {
				tc.setup(f)
			}
			rec, err := f.read(t, f.cfg, nil)
			require.NoError(t, err)
			requireVideos(t, f.srv.Videos(), rec.Rows(StreamVideos), testStart, f.srv.Account().OpenID)
			require.Len(t, rec.Rows(StreamUserInfo), 1)
			tc.fired(t, f, f.srv.Counts())
			if tc.logged != "" {
				require.Contains(t, logText(rec), tc.logged)
			}
			// Every rotated refresh token reached the host, the last one is
			// the live one, and the next run works with it.
			c := f.srv.Counts()
			require.Len(t, rec.ConfigUpdates(), c.Refreshed)
			require.Equal(t, f.srv.RefreshToken(), rec.Config(f.cfg)[ParamRefreshToken])
			for _, d := range f.sleep.Delays() {
				require.LessOrEqual(t, d, displayapi.BackoffCap)
			}
			var st videosState
			require.NoError(t, json.Unmarshal(lastStates(rec, StreamVideos)[StreamVideos], &st))
			require.True(t, st.Done)
		})
	}
}

// TestFaultsThatOutlastRetries drives the knobs past the retries: the run
// fails with the right kind of error, keeps what it read, and the next run
// resumes and completes the same snapshot with no duplicate and no missing
// video.
func TestFaultsThatOutlastRetries(t *testing.T) {
	t.Parallel()
	long := emulator.Burst{After: 5, Count: displayapi.DefaultMaxRetries + 1}
	cases := map[string]struct {
		opts emulator.Options
		kind sdk.ErrorKind
		says string
	}{
		"429 storm":           {emulator.Options{RateLimitStorm: long}, sdk.KindRateLimited, "TikTok kept throttling /v2/video/list/ (rate limit exceeded)"},
		"in-body storm":       {emulator.Options{RateLimitStorm: long, InBodyRateLimit: true}, sdk.KindRateLimited, "rate limit exceeded"},
		"5xx burst":           {emulator.Options{ServerErrors: long}, sdk.KindTransient, "kept failing"},
		"malformed JSON":      {emulator.Options{MalformedJSON: long}, sdk.KindTransient, "not valid JSON"},
		"slow answers":        {emulator.Options{SlowResponses: long, SlowDelay: time.Minute}, sdk.KindTransient, "Client.Timeout"},
		"storm on first page": {emulator.Options{RateLimitStorm: emulator.Burst{After: 1, Count: 10}}, sdk.KindRateLimited, "page 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.opts)
			if tc.opts.SlowDelay > 0 {
				f.src.httpTimeout = 200 * time.Millisecond
			}
			k := newKiller(f.recorder(t), -1, func() {})
			err := f.src.Read(t.Context(), sdk.ReadRequest{Config: f.cfg}, k)
			require.Equal(t, tc.kind, sdk.KindOf(err), "error: %v", err)
			require.ErrorContains(t, err, tc.says)
			require.ErrorContains(t, err, "the next run continues from that page")
			if tc.kind == sdk.KindRateLimited {
				var se *sdk.Error
				require.True(t, errors.As(err, &se))
				require.True(t, se.RetryAt.After(testStart), "a reset time is given")
			}
			rows, state := k.committed(nil, false)
			var st videosState
			require.NoError(t, json.Unmarshal(state[StreamVideos], &st))
			require.False(t, st.Done)

			f.clock.Add(time.Hour)
			k2 := newKiller(f.recorder(t), -1, func() {})
			require.NoError(t, f.src.Read(t.Context(), sdk.ReadRequest{Config: k.rec.Config(f.cfg), State: state}, k2))
			more, _ := k2.committed(state, true)
			requireOneSnapshot(t, f, append(rows, more...), testStart)
		})
	}
}

// requireOneSnapshot checks rows hold exactly one snapshot taken at at:
// one user_info row and every video once.
func requireOneSnapshot(t *testing.T, f *fixture, rows []rowKey, at time.Time) {
	t.Helper()
	videos := map[string]int{}
	users := 0
	for _, r := range rows {
		require.Equal(t, at.UnixMicro(), r.snapshotAt, "%+v", r)
		switch r.stream {
		case StreamVideos:
			videos[r.key]++
		case StreamUserInfo:
			users++
		}
	}
	require.Equal(t, 1, users, "one user_info row")
	want := f.srv.Videos()
	require.Len(t, videos, len(want), "no video missing")
	for _, v := range want {
		require.Equal(t, 1, videos[v.ID], "video %s once", v.ID)
	}
}

// TestRequestsStayUnderTheRateLimit reads 600 pages of one video each: the
// client-side limiter must spread the requests so that no one-minute window
// holds more than 540 of them (TikTok allows 600). The clock stands still
// and the sleeps return at once, so each limiter wait is the offset from
// the start at which that request may go.
func TestRequestsStayUnderTheRateLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t, emulator.Options{VideoCount: 600})
	f.cfg[ParamMaxCount] = "1"
	f.src.pagesPerPayload = 100
	rec, err := f.read(t, f.cfg, nil, StreamVideos)
	require.NoError(t, err)
	require.Len(t, rec.Rows(StreamVideos), 600)

	requests := f.srv.Counts().VideoList
	require.Equal(t, 600, requests)
	waits := f.sleep.Delays()
	burst := requests - len(waits) // sent at once
	require.Positive(t, burst)
	offsets := make([]time.Duration, 0, requests)
	for range burst {
		offsets = append(offsets, 0)
	}
	offsets = append(offsets, waits...)
	for i := range offsets {
		j := i
		for j < len(offsets) && offsets[j]-offsets[i] < time.Minute {
			j++
		}
		require.LessOrEqual(t, j-i, requestsPerMinute, "requests in the minute from request %d", i+1)
	}
	require.Greater(t, offsets[len(offsets)-1], time.Minute, "600 requests take more than a minute")
}
