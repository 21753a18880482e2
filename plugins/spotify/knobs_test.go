package spotify

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/spotify/emulator"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/sdktest"
)

// cleanRows are the Web API rows of a run against a fault-free emulator,
// per profile.
func cleanRows(t *testing.T, profile string) map[string][]map[string]any {
	t.Helper()
	_, cfg := startEmulator(t, emulator.Options{Profile: profile})
	e := newEmitRecorder(t)
	require.NoError(t, fixedSource().Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))
	out := map[string][]map[string]any{}
	for _, s := range APIStreams() {
		out[s.Name] = e.Rows(s.Name)
	}
	return out
}

// Under every fault knob the emulator has, a run retries, renews or waits
// as it must and ends with exactly the rows a fault-free run gives, in both
// profiles; the payloads keep only answers the rows come from, plus the
// malformed ones (as JSON strings) that were asked again.
func TestReadUnderEachFaultKnob(t *testing.T) {
	t.Parallel()
	knobs := []struct {
		name  string
		opts  emulator.Options
		check func(t *testing.T, srv *emulator.Server, e *sdktest.Recorder, w *waits)
	}{
		{"429 storm", emulator.Options{RateLimitEvery: 2, RetryAfterSeconds: 7}, func(t *testing.T, _ *emulator.Server, _ *sdktest.Recorder, w *waits) {
			require.NotEmpty(t, w.all())
			for _, d := range w.all() {
				require.Equal(t, 7*time.Second, d, "Retry-After honoured")
			}
		}},
		{"429 mid-pagination", emulator.Options{ShortPages: 2, RateLimitMidPagination: true, RetryAfterSeconds: 3}, func(t *testing.T, _ *emulator.Server, _ *sdktest.Recorder, w *waits) {
			require.Equal(t, []time.Duration{3 * time.Second}, w.all())
		}},
		{"token expiry mid-run", emulator.Options{ShortPages: 2, ExpireTokenAfter: 4}, func(t *testing.T, srv *emulator.Server, e *sdktest.Recorder, w *waits) {
			require.Greater(t, srv.TokensIssued(), 3)
			require.Empty(t, w.all(), "a 401 renews at once")
			require.Contains(t, describe(e), "access token rejected, renewing")
		}},
		{"5xx burst", emulator.Options{ServerErrors: 5}, func(t *testing.T, _ *emulator.Server, _ *sdktest.Recorder, w *waits) {
			require.Len(t, w.all(), 5)
			for i, d := range w.all() {
				require.LessOrEqual(t, d, 500*time.Millisecond<<i, "exponential backoff with jitter")
			}
		}},
		{"short pages", emulator.Options{ShortPages: 1}, func(t *testing.T, srv *emulator.Server, _ *sdktest.Recorder, _ *waits) {
			require.Equal(t, 9, srv.Requests("/v1/artists/"+emulator.MaraEllisID+"/albums"), "one release per page, next followed to the end")
		}},
		{"malformed JSON", emulator.Options{ShortPages: 3, MalformedEvery: 3}, func(t *testing.T, srv *emulator.Server, e *sdktest.Recorder, w *waits) {
			require.Positive(t, srv.MalformedResponses())
			require.Len(t, w.all(), srv.MalformedResponses(), "each malformed answer asked again after a backoff")
			strs := 0
			for _, p := range e.Payloads() {
				for _, l := range payloadLines(t, p) {
					var s string
					if json.Unmarshal(l.Body, &s) == nil {
						strs++
						require.False(t, json.Valid([]byte(s)))
					}
				}
			}
			require.Equal(t, srv.MalformedResponses(), strs, "malformed answers are kept in landing as JSON strings")
		}},
		{"slow responses", emulator.Options{SlowEvery: 8, SlowDelay: 10 * time.Second}, func(t *testing.T, srv *emulator.Server, e *sdktest.Recorder, w *waits) {
			require.Positive(t, srv.SlowResponses())
			// Each timed-out request is asked again (on a loaded machine a
			// request that is not slowed may time out too).
			require.GreaterOrEqual(t, len(w.all()), srv.SlowResponses())
			require.Regexp(t, `Client\.Timeout|deadline exceeded`, describe(e))
		}},
		{"everything at once", emulator.Options{ShortPages: 2, RateLimitEvery: 5, RateLimitMidPagination: true, ExpireTokenAfter: 6,
			ServerErrors: 2, MalformedEvery: 7, SlowEvery: 25, SlowDelay: 10 * time.Second}, nil},
	}
	for _, profile := range []string{emulator.ProfileExtended, emulator.ProfileDevMode} {
		want := cleanRows(t, profile)
		for _, k := range knobs {
			t.Run(profile+"/"+k.name, func(t *testing.T) {
				t.Parallel()
				opts := k.opts
				opts.Profile = profile
				srv, cfg := startEmulator(t, opts)
				w := &waits{}
				src := testSource(&clock{t: t0}, w)
				src.timeout = 500 * time.Millisecond // the slow answers take 10 s
				e := newEmitRecorder(t)
				require.NoError(t, src.Read(t.Context(), sdk.ReadRequest{Config: cfg}, e))
				for _, s := range APIStreams() {
					require.Equal(t, canon(want[s.Name]), canon(e.Rows(s.Name)), s.Name)
				}
				for _, p := range e.Payloads() {
					for _, l := range payloadLines(t, p) {
						require.Equal(t, 200, l.Status, "only answers with data are kept")
					}
				}
				if k.check != nil {
					k.check(t, srv, e, w)
				}
			})
		}
	}
}

// When a fault outlasts the retries, the run fails with the right kind of
// error, in words that say what happened and what to do, and what was
// checkpointed is resumed by the next run.
func TestFaultOutlastingRetries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opts  emulator.Options
		kind  sdk.ErrorKind
		words []string
	}{
		{"429 storm", emulator.Options{RateLimitEvery: 1, RetryAfterSeconds: 30}, sdk.KindRateLimited,
			[]string{"limiting how often", "run the Spotify source less often", "API rate limit exceeded"}},
		{"5xx", emulator.Options{ServerErrors: 1000}, sdk.KindTransient,
			[]string{"could not be reached or kept answering with errors", "next run continues", "HTTP 503"}},
		{"malformed JSON", emulator.Options{MalformedEvery: 1}, sdk.KindTransient,
			[]string{"kept answering with errors", "malformed 6 time(s) in a row"}},
		{"slow", emulator.Options{SlowEvery: 1, SlowDelay: 10 * time.Second}, sdk.KindTransient,
			[]string{"could not be reached", "artist " + emulator.MaraEllisID}},
		{"bad secret", emulator.Options{ClientSecret: "the-real-secret"}, sdk.KindConfig,
			[]string{"settings need fixing", "developer dashboard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, cfg := startEmulator(t, tc.opts)
			if tc.kind == sdk.KindConfig {
				cfg = withConfig(cfg, ParamClientSecret, "a-wrong-secret")
			}
			src := fixedSource()
			src.timeout = 100 * time.Millisecond
			err := src.Read(t.Context(), sdk.ReadRequest{Config: cfg}, newEmitRecorder(t))
			require.Error(t, err)
			var se *sdk.Error
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.kind, se.Kind, "%v", err)
			for _, w := range tc.words {
				require.Contains(t, se.Err.Error(), w, "the message the host shows")
			}
			require.NotContains(t, err.Error(), "a-wrong-secret")
			if tc.kind == sdk.KindRateLimited {
				require.Equal(t, t0.Add(30*time.Second), se.RetryAt)
			}
		})
	}
}

// A rate limit hit after some artists were done: the next run, an hour
// later, finishes the snapshot.
func TestRateLimitMidRunResumes(t *testing.T) {
	t.Parallel()
	_, cfg := startEmulator(t, emulator.Options{})
	want := cleanRows(t, emulator.ProfileExtended)
	// The first run's transport answers 429 from its 16th request on: Mara
	// Ellis (13 requests) is done, Ørjan Ødegård is not.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e := newContractEmitter(t, cancel, 0)
	src := fixedSource()
	src.transport = &limitedTransport{ok: 15}
	err := src.Read(ctx, sdk.ReadRequest{Config: cfg}, e)
	require.Equal(t, sdk.KindRateLimited, sdk.KindOf(err), "%v", err)
	rows, state := e.committed(false, nil)
	require.Len(t, rows[StreamArtists], 1)
	require.NotEmpty(t, rows[StreamTracks])
	e2 := newEmitRecorder(t)
	require.NoError(t, testSource(&clock{t: t0.Add(time.Hour)}, nil).Read(t.Context(), sdk.ReadRequest{Config: cfg, State: state}, e2))
	for _, s := range APIStreams() {
		require.Equal(t, canon(want[s.Name]), canon(append(rows[s.Name], e2.Rows(s.Name)...)), s.Name)
	}
}

// limitedTransport serves ok requests, then answers 429 to every request.
type limitedTransport struct {
	mu sync.Mutex
	ok int
}

func (l *limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.ok--
	down := l.ok < 0
	l.mu.Unlock()
	if down {
		resp, err := fixedTransport{status: http.StatusTooManyRequests, body: `{"error":{"status":429,"message":"API rate limit exceeded"}}`}.RoundTrip(r)
		resp.Header.Set("Retry-After", "60")
		return resp, err
	}
	return http.DefaultTransport.RoundTrip(r)
}
