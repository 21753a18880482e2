package tiktok

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
	"github.com/bedrot-label/bedrot/sdk"
)

// requireBusinessDays checks rows are the settled metrics of the days from
// first to last, in order, each once.
func requireBusinessDays(t *testing.T, f *fixture, rows []map[string]any, first, last string, at time.Time) {
	t.Helper()
	from, err := time.Parse(time.DateOnly, first)
	require.NoError(t, err)
	to, err := time.Parse(time.DateOnly, last)
	require.NoError(t, err)
	require.Len(t, rows, int(to.Sub(from)/(24*time.Hour))+1)
	for i, r := range rows {
		d := from.AddDate(0, 0, i)
		w := f.srv.BusinessMetrics(d)
		require.Equal(t, w.Date, r["date"])
		require.Equal(t, testBusinessID, r["business_id"])
		require.Equal(t, w.VideoViews, r["video_views"], w.Date)
		require.Equal(t, w.UniqueVideoViews, r["unique_video_views"], w.Date)
		require.Equal(t, w.ProfileViews, r["profile_views"], w.Date)
		require.Equal(t, w.Likes, r["likes"], w.Date)
		require.Equal(t, w.Comments, r["comments"], w.Date)
		require.Equal(t, w.Shares, r["shares"], w.Date)
		require.Equal(t, w.BioLinkClicks, r["bio_link_clicks"], w.Date)
		require.Equal(t, w.DailyTotalFollowers, r["daily_total_followers"], w.Date)
		require.Equal(t, w.DailyNewFollowers, r["daily_new_followers"], w.Date)
		require.Equal(t, w.DailyLostFollowers, r["daily_lost_followers"], w.Date)
		require.Equal(t, w.FollowersCount, r["followers_count"], w.Date)
		for name, v := range map[string]*int64{"phone_number_clicks": w.PhoneNumberClicks, "lead_submissions": w.LeadSubmissions,
			"app_download_clicks": w.AppDownloadClicks, "email_clicks": w.EmailClicks, "address_clicks": w.AddressClicks} {
			if v == nil {
				require.Nil(t, r[name], "%s %s", w.Date, name)
			} else {
				require.Equal(t, *v, r[name], "%s %s", w.Date, name)
			}
		}
		var activity []emulator.HourCount
		require.NoError(t, json.Unmarshal([]byte(r["audience_activity"].(string)), &activity))
		require.Equal(t, w.AudienceActivity, activity)
		require.Equal(t, at.UnixMicro(), r["snapshot_at"])
		require.Equal(t, at.Format(time.DateOnly), r["snapshot_date"])
	}
}

func TestBusinessMetricsIncremental(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{VideoCount: 3}))
	rec, err := f.read(t, f.cfg, nil)
	require.NoError(t, err)

	// Today is 2026-11-07: the first run reads 59 days back, up to the last
	// settled day, 2026-11-04 (the 5th and 6th are still being counted).
	requireBusinessDays(t, f, rec.Rows(StreamBusinessMetrics), "2026-09-09", "2026-11-04", testStart)
	ps := rec.Payloads()
	p := ps[len(ps)-1]
	require.Equal(t, "business_metrics-"+testBusinessID+"-2026-09-09-2026-11-04.jsonl", p.Name)
	ls := lines(t, p.Data)
	require.Len(t, ls, 1)
	u, err := url.Parse(ls[0].Request.URL)
	require.NoError(t, err)
	require.Equal(t, emulator.BusinessPath, u.Path)
	require.Equal(t, "2026-09-09", ls[0].Request.Params["start_date"])
	require.Equal(t, "2026-11-04", ls[0].Request.Params["end_date"])
	state := lastStates(rec, StreamUserInfo, StreamVideos, StreamBusinessMetrics)
	require.JSONEq(t, `{"last_date":"2026-11-04"}`, string(state[StreamBusinessMetrics]))

	// Later the same day nothing new has settled: no request, no rows.
	f.clock.Add(6 * time.Hour)
	rec, err = f.read(t, rec.Config(f.cfg), state, StreamBusinessMetrics)
	require.NoError(t, err)
	require.Empty(t, rec.Rows(StreamBusinessMetrics))
	require.Equal(t, 1, f.srv.Counts().Business)
	require.Contains(t, logText(rec), "up to date")

	// A day later exactly one more day has settled.
	f.clock.Add(18 * time.Hour)
	rec, err = f.read(t, rec.Config(f.cfg), state, StreamBusinessMetrics)
	require.NoError(t, err)
	requireBusinessDays(t, f, rec.Rows(StreamBusinessMetrics), "2026-11-05", "2026-11-05", testStart.Add(24*time.Hour))
	require.JSONEq(t, `{"last_date":"2026-11-05"}`, string(rec.Checkpoints(StreamBusinessMetrics)[0]))

	// A state older than the look-back resumes at its start, and says what
	// was lost.
	old := map[string][]byte{StreamBusinessMetrics: []byte(`{"last_date":"2026-08-01"}`)}
	rec, err = f.read(t, f.cfg, old, StreamBusinessMetrics)
	require.NoError(t, err)
	require.Contains(t, logText(rec), "TikTok business metrics from 2026-08-02 to 2026-09-09 can no longer be read")
	require.Len(t, rec.Rows(StreamBusinessMetrics), 57)
}

func TestBusinessMetricsOfAPersonalAccountAreNull(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{BusinessPersonalAccount: true}))
	rec, err := f.read(t, f.cfg, nil, StreamBusinessMetrics)
	require.NoError(t, err)
	rows := rec.Rows(StreamBusinessMetrics)
	requireBusinessDays(t, f, rows, "2026-09-09", "2026-11-04", testStart)
	require.Nil(t, rows[0]["phone_number_clicks"])
	require.NotNil(t, rows[0]["video_views"])
}

func TestBusinessMetricsThrottling(t *testing.T) {
	t.Parallel()
	t.Run("retried", func(t *testing.T) {
		t.Parallel()
		// Check makes request 1, the read's first try is request 2.
		f := newFixture(t, business(emulator.Options{BusinessRateLimitEvery: 2}))
		require.NoError(t, f.src.Check(t.Context(), f.cfg))
		rec, err := f.read(t, f.cfg, nil, StreamBusinessMetrics)
		require.NoError(t, err)
		require.Len(t, rec.Rows(StreamBusinessMetrics), 57)
		require.Equal(t, 1, f.srv.Counts().BusinessThrottled)
		require.Contains(t, logText(rec), "code 40100")
	})
	t.Run("exhausted", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, business(emulator.Options{BusinessRateLimitEvery: 1}))
		rec, err := f.read(t, f.cfg, nil, StreamBusinessMetrics)
		require.Equal(t, sdk.KindRateLimited, sdk.KindOf(err), "error: %v", err)
		var se *sdk.Error
		require.ErrorAs(t, err, &se)
		require.Equal(t, testStart.Add(time.Minute), se.RetryAt)
		require.ErrorContains(t, err, "TikTok kept throttling the Accounts API (code 40100)")
		require.Empty(t, rec.Checkpoints(StreamBusinessMetrics))
		require.Equal(t, 6, f.srv.Counts().Business, "one try and five retries")
	})
}

func TestBusinessTokenRejected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{}))
	f.cfg[ParamBusinessAccessToken] = "expired-business-token"
	_, err := f.read(t, f.cfg, nil, StreamBusinessMetrics)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, "TikTok rejected business_access_token")
	require.NotContains(t, err.Error(), "expired-business-token")

	f.cfg[ParamBusinessAccessToken] = testBusinessToken
	f.cfg[ParamBusinessID] = "someone-else"
	_, err = f.read(t, f.cfg, nil, StreamBusinessMetrics)
	require.Equal(t, sdk.KindConfig, sdk.KindOf(err), "error: %v", err)
	require.ErrorContains(t, err, "check business_id")
}

func TestDecodeBusinessMetrics(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	data := json.RawMessage(`{"metrics":[
		{"date":"2026-11-03","video_views":3,"likes":null},
		{"date":"2026-10-31","video_views":1},
		{"date":"2026-11-01","video_views":1.5},
		{"date":"2026-11-02","video_views":"2"},
		{"date":"2026-11-02","video_views":2},
		{"date":"Nov 4"},
		{"date":"2026-11-09","video_views":9}]}`)
	rows, problems, newest := decodeBusinessMetrics(data, from, to)
	require.Equal(t, to, newest, "days after the range are not counted")
	require.Len(t, rows, 2, "the days in range that read")
	require.Equal(t, "2026-11-02", rows[0].date.Format(time.DateOnly), "sorted by day")
	require.Equal(t, int64(2), *rows[0].metrics[0], "a number sent as text is read")
	require.Nil(t, rows[1].metrics[3], "null stays null")
	var fields []string
	for _, p := range problems {
		fields = append(fields, p.field+": "+p.message)
		require.Equal(t, int64(1), p.line)
	}
	require.Equal(t, []string{
		"data.metrics[2].video_views: 1.5 is not a whole number",
		"data.metrics[4].date: day 2026-11-02 is sent twice",
		`data.metrics[5].date: "Nov 4" is not a YYYY-MM-DD date`,
	}, fields)

	_, problems, _ = decodeBusinessMetrics(json.RawMessage(`{"metrics":{}}`), from, to)
	require.Len(t, problems, 1)
	require.True(t, strings.HasPrefix(problems[0].message, "not a list of daily entries"))
}

// failFirst answers the first n Accounts API requests itself with status
// and body, then lets requests through.
type failFirst struct {
	next   http.RoundTripper
	n      int
	status int
	body   string
	mu     sync.Mutex
	failed int
}

func (f *failFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	fail := strings.Contains(r.URL.Path, emulator.BusinessPath) && f.failed < f.n
	if fail {
		f.failed++
	}
	f.mu.Unlock()
	if !fail {
		return f.next.RoundTrip(r)
	}
	return &http.Response{StatusCode: f.status, Body: io.NopCloser(strings.NewReader(f.body)), Header: http.Header{}, Request: r}, nil
}

func TestBusinessServerErrorsAndBadBodiesAreRetried(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"502":       {http.StatusBadGateway, "<html>502 Bad Gateway</html>"},
		"truncated": {http.StatusOK, `{"code":0,"message":"OK","data":{"metrics":[{"date":"2026-`},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, business(emulator.Options{}))
			f.src.transport = &failFirst{next: f.src.transport, n: 2, status: tc.status, body: tc.body}
			rec, err := f.read(t, f.cfg, nil, StreamBusinessMetrics)
			require.NoError(t, err)
			requireBusinessDays(t, f, rec.Rows(StreamBusinessMetrics), "2026-09-09", "2026-11-04", testStart)
			require.Len(t, f.sleep.Delays(), 2)

			f = newFixture(t, business(emulator.Options{}))
			f.src.transport = &failFirst{next: f.src.transport, n: 100, status: tc.status, body: tc.body}
			_, err = f.read(t, f.cfg, nil, StreamBusinessMetrics)
			require.Equal(t, sdk.KindTransient, sdk.KindOf(err), "error: %v", err)
			require.ErrorContains(t, err, "the TikTok Accounts API kept failing after 5 retries")
		})
	}
}

func TestBusinessMetricsBackfillWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t, business(emulator.Options{VideoCount: 3}))
	state := map[string][]byte{StreamBusinessMetrics: []byte(`{"last_date":"2026-11-04"}`)}
	cfg := sdk.Config{}
	for k, v := range f.cfg {
		cfg[k] = v
	}
	cfg[sdk.ParamWindowStart], cfg[sdk.ParamWindowEnd] = "2026-10-01", "2026-10-07"
	rec, err := f.read(t, cfg, state, StreamBusinessMetrics)
	require.NoError(t, err)
	requireBusinessDays(t, f, rec.Rows(StreamBusinessMetrics), "2026-10-01", "2026-10-07", testStart)
	require.Empty(t, rec.Checkpoints(StreamBusinessMetrics), "a window in the past does not move the state back")

	// Beyond the 60 days TikTok keeps, and not yet settled, is clamped.
	cfg[sdk.ParamWindowStart], cfg[sdk.ParamWindowEnd] = "2026-08-01", "2026-11-30"
	rec, err = f.read(t, cfg, nil, StreamBusinessMetrics)
	require.NoError(t, err)
	requireBusinessDays(t, f, rec.Rows(StreamBusinessMetrics), "2026-09-09", "2026-11-04", testStart)
	require.JSONEq(t, `{"last_date":"2026-11-04"}`, string(rec.Checkpoints(StreamBusinessMetrics)[0]))

	cfg[sdk.ParamWindowStart], cfg[sdk.ParamWindowEnd] = "2026-10-07", "2026-10-01"
	_, err = f.read(t, cfg, nil, StreamBusinessMetrics)
	require.ErrorContains(t, err, "the start on or before the end")
}
