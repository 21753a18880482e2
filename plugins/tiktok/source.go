// Package tiktok is the BEDROT source connector for TikTok: each run takes
// a dated snapshot of the label's TikTok account through the Display API v2
// — the profile with its lifetime counters (stream user_info) and every
// public video with its lifetime views, likes, comments and shares (stream
// videos) — and, when a business account is configured, reads its daily
// account metrics from the Accounts API (stream business_metrics). The
// Display API has no daily series: the raw zone keeps every snapshot, and
// daily differences are taken later, in staging.
//
// # Credentials
//
// The Display API authorises with a user refresh token that TikTok rotates
// on every refresh: the old one stops working at once. The connector hands
// each new refresh token to BEDROT with Emitter.UpdateConfig the moment
// TikTok issues it, and stops if BEDROT cannot take it. Check never
// refreshes (it could not pass a new token on), so it validates the
// configuration without calling the Display API.
//
// # Landing payloads
//
// Every payload is JSON Lines, one API response per line:
// {"request":{"method","url","params"},"status","received_at","body","bedrot"}
// with the body as received. "bedrot" is the connector's note on the line:
// what it takes besides the answer to rebuild the line's rows —
// {"stream","snapshot_at"} (to the microsecond), for user_info and videos
// the "open_id" TikTok sent with the access token, and for videos
// "already_emitted", the positions in data.videos of the videos an
// earlier page or run of the snapshot emitted. No token, header or secret
// is kept.
//
// # Replay
//
// `bedrot replay` sets files to local copies of landing payloads. Read then
// calls no API (Check and Discover neither, and need no other parameter):
// it sends each file back under its base name, byte for byte, with the rows
// it produced, rebuilt from its lines by the code that builds them in a live
// read. A file that is not such a payload is sent with problems naming file,
// line and field, and no rows, and is quarantined.
//
// # Resuming
//
// The videos stream is read in groups of pages (five by default): each
// group is one payload, its rows, and a checkpoint {snapshot_at, cursor,
// done, …}. A run cut off mid-way leaves the committed groups and their
// state; the next run continues the same snapshot (same snapshot_at) from
// the cursor if the snapshot began less than 12 hours ago, and otherwise
// logs that the snapshot stays incomplete and begins a new one. Videos the
// API repeats across pages are dropped within a run by id, and across a
// resume by their position before the cursor (create_time and, at the
// boundary second, the ids kept in the state), so the rows of an
// interrupted and a resumed run together equal one uninterrupted snapshot.
// A finished snapshot makes the next run begin a new one.
//
// The business_metrics stream keeps the last day it emitted; a day is
// emitted once it is settled (48 hours after it ended, TikTok's stated
// latency) and never again, within TikTok's 60-day look-back.
//
// # Rate limits and errors
//
// Requests stay under 540 a minute (TikTok allows 600 per endpoint).
// Throttling (HTTP 429, or rate_limit_exceeded / code 40100 inside an HTTP
// 200 answer), 5xx answers, slow answers and bodies cut off are retried
// with exponential backoff and full jitter; when retries run out the run
// fails as rate limited (with the reset time) or transient, and the next
// run resumes. A rejected refresh token is a configuration error telling
// the user to re-authorise the app.
package tiktok

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/plugins/tiktok/displayapi"
	"github.com/bedrot-label/bedrot/sdk"
)

// Version is the connector's version, reported in its Spec.
const Version = "0.2.0"

// Defaults of a Source.
const (
	// defaultHTTPTimeout bounds each HTTP request; a slower answer is
	// retried.
	defaultHTTPTimeout = 30 * time.Second
	// defaultPagesPerPayload is how many video list pages make one payload
	// and one checkpoint.
	defaultPagesPerPayload = 5
	// requestsPerMinute keeps the connector under TikTok's 600 requests a
	// minute with a margin for the server's window.
	requestsPerMinute = 540
)

// resumeWindow is how long after it began an unfinished snapshot is
// continued by the next run instead of being left incomplete.
const resumeWindow = 12 * time.Hour

// batchRows is the most rows put in one record batch.
const batchRows = 4096

// Source reads TikTok. Create it with NewSource.
type Source struct {
	sdk.UnimplementedSource
	// now is the clock for snapshot times, token expiry and the limiter.
	now func() time.Time
	// transport sends HTTP requests.
	transport http.RoundTripper
	// sleep waits before retries and for the limiter; a timer when nil.
	sleep func(ctx context.Context, d time.Duration) error
	// httpTimeout bounds each request.
	httpTimeout time.Duration
	// pagesPerPayload is the size of a videos page group.
	pagesPerPayload int
	// maxRetries is how often a throttled or failing request is retried
	// (0: the clients' default).
	maxRetries int
}

// NewSource returns the TikTok source.
func NewSource() sdk.Source {
	return &Source{now: time.Now, transport: http.DefaultTransport, httpTimeout: defaultHTTPTimeout, pagesPerPayload: defaultPagesPerPayload}
}

func (s *Source) httpClient() *http.Client {
	return &http.Client{Transport: s.transport, Timeout: s.httpTimeout}
}

// Check verifies the configuration: required parameters, URLs and page
// size, and, when business_id is set, the Accounts API access token (with
// one request). It does not call the Display API: every refresh rotates the
// refresh token, and Check could not hand the new one to BEDROT.
//
// For a replay (files set) it checks that the files can be read, and calls
// nothing.
func (s *Source) Check(ctx context.Context, cfg sdk.Config) error {
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	if c.replay() {
		return checkReplayFiles(c.files)
	}
	if c.business() {
		if _, _, err := s.businessClient(c, nil).get(ctx, []string{"display_name"}, "", ""); err != nil {
			return err
		}
	}
	return nil
}

// Discover returns user_info and videos, and business_metrics when
// business_id is set or for a replay (files set), whose payloads may hold
// any stream.
func (s *Source) Discover(ctx context.Context, cfg sdk.Config) ([]sdk.Stream, error) {
	c, err := parseConfig(cfg)
	if err != nil {
		return nil, err
	}
	return Streams(c.business() || c.replay()), nil
}

// logf returns a logger for the API clients that forwards to out: retries
// and stops as warnings, the rest (token refreshes and rotations) as
// information.
func logf(out sdk.Emitter) func(msg string, kv ...any) {
	return func(msg string, kv ...any) {
		level := sdk.LevelInfo
		if strings.HasPrefix(msg, "retrying") || strings.Contains(msg, "stopped") {
			level = sdk.LevelWarn
		}
		out.Log(level, msg, kv...)
	}
}

// Read takes this run's snapshot of the selected streams: user_info, then
// videos in page groups, then business_metrics. See the package
// documentation for the order of payloads, rows and checkpoints. With
// files set it replays those landing payloads instead (see replay).
func (s *Source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	c, err := parseConfig(req.Config)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, name := range req.Streams {
		switch name {
		case StreamUserInfo, StreamVideos:
		case StreamBusinessMetrics:
			if !c.business() && !c.replay() {
				return sdk.ConfigError(fmt.Errorf("tiktok: stream %s needs %s and %s", name, ParamBusinessID, ParamBusinessAccessToken))
			}
		default:
			return fmt.Errorf("tiktok: unknown stream %q (the streams are %s, %s and %s)", name, StreamUserInfo, StreamVideos, StreamBusinessMetrics)
		}
		want[name] = true
	}
	selected := func(name string) bool { return len(want) == 0 || want[name] }
	if c.replay() {
		return replay(ctx, c.files, selected, out)
	}
	now := s.now().UTC().Truncate(time.Microsecond)

	if selected(StreamUserInfo) || selected(StreamVideos) {
		if err := s.readDisplay(ctx, c, req.State, now, selected(StreamUserInfo), selected(StreamVideos), out); err != nil {
			return err
		}
	}
	if c.business() && selected(StreamBusinessMetrics) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return s.readBusiness(ctx, c, req.State[StreamBusinessMetrics], now, out)
	}
	return nil
}

// readDisplay reads the Display API streams of one snapshot: it decides
// whether the snapshot is new or continues an unfinished one, then reads
// user_info (unless the snapshot already has it) and the videos.
func (s *Source) readDisplay(ctx context.Context, c config, state map[string][]byte, now time.Time, withUser, withVideos bool, out sdk.Emitter) error {
	dc := displayapi.New(displayapi.Config{
		BaseURL:      c.baseURL,
		TokenURL:     c.tokenURL,
		ClientKey:    c.clientKey,
		ClientSecret: c.clientSecret,
		RefreshToken: c.refreshToken,
		OnRefreshTokenRotated: func(token string, _ time.Time) error {
			if err := out.UpdateConfig(map[string]string{ParamRefreshToken: token}); err != nil {
				return fmt.Errorf("BEDROT could not store the new TikTok refresh token, and the old one no longer works; "+
					"if the next run fails, re-authorise the app and set refresh_token: %w", err)
			}
			return nil
		},
		HTTPClient:        s.httpClient(),
		MaxRetries:        s.maxRetries,
		RequestsPerMinute: requestsPerMinute,
		Sleep:             s.sleep,
		Now:               s.now,
		Logger:            logf(out),
	})

	var us userInfoState
	if raw := state[StreamUserInfo]; withUser && len(raw) > 0 {
		if err := json.Unmarshal(raw, &us); err != nil {
			return stateError(StreamUserInfo, err)
		}
	}
	vs := videosState{SnapshotAt: now}
	if withVideos {
		var resumed bool
		var err error
		if vs, resumed, err = planSnapshot(state[StreamVideos], now, out); err != nil {
			return err
		}
		if !resumed {
			// Record the new snapshot before any data, so that a run cut
			// off after user_info continues this snapshot, not a new one.
			if err := checkpoint(out, StreamVideos, vs); err != nil {
				return err
			}
		}
	}
	var videoCount int64
	if withUser {
		if us.SnapshotAt.Equal(vs.SnapshotAt) {
			out.Log(sdk.LevelInfo, "TikTok user_info of this snapshot is already stored", "snapshot_at", vs.SnapshotAt.Format(time.RFC3339))
		} else {
			n, err := readUserInfo(ctx, dc, vs.SnapshotAt, out)
			if err != nil {
				return err
			}
			videoCount = n
		}
	}
	if !withVideos {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.readVideos(ctx, dc, c.maxCount, vs, videoCount, out)
}

// checkpoint encodes state as JSON and checkpoints it for stream.
func checkpoint(out sdk.Emitter, stream string, state any) error {
	b, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("failed to encode the state of stream %s: %w", stream, err)
	}
	if err := out.Checkpoint(stream, b); err != nil {
		return fmt.Errorf("failed to checkpoint stream %s: %w", stream, err)
	}
	return nil
}

// stateError is the error for a saved state that cannot be read.
func stateError(stream string, err error) error {
	return sdk.ConfigError(fmt.Errorf("tiktok: the saved state of stream %s cannot be read (%w); reset the state of that stream to start it afresh", stream, err))
}

// snapshotStamp names payloads after a snapshot time.
func snapshotStamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }
