package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testBusinessID    = "-000bizaccount01"
	testBusinessToken = "biz.access.token"
)

// businessAnswer is a decoded /business/get/ answer.
type businessAnswer struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Data      struct {
		DisplayName    *string          `json:"display_name"`
		FollowersCount *int64           `json:"followers_count"`
		Metrics        []map[string]any `json:"metrics"`
	} `json:"data"`
}

func business(t *testing.T, base, token string, params url.Values) businessAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+BusinessPath+"?"+params.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Access-Token", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the Accounts API answers HTTP 200 with a code")
	var a businessAnswer
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	require.NoError(t, dec.Decode(&a))
	require.NotEmpty(t, a.RequestID)
	return a
}

func businessParams(start, end string, fields ...string) url.Values {
	f, _ := json.Marshal(fields)
	return url.Values{"business_id": {testBusinessID}, "start_date": {start}, "end_date": {end}, "fields": {string(f)}}
}

func TestBusinessMetrics(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)}
	s, base := start(t, Options{Now: clk.Now, Seed: 5, BusinessID: testBusinessID, BusinessAccessToken: testBusinessToken})

	a := business(t, base, testBusinessToken, businessParams("2026-09-08", "2026-11-07", append([]string{"display_name", "followers_count"}, BusinessMetricFields...)...))
	require.Equal(t, BusinessCodeOK, a.Code, a.Message)
	require.Equal(t, s.Account().DisplayName, *a.Data.DisplayName)
	require.Equal(t, s.Account().FollowerCount, *a.Data.FollowersCount)
	require.Len(t, a.Data.Metrics, 60, "2026-09-08 … 2026-11-06: today is not served")
	require.Equal(t, "2026-09-08", a.Data.Metrics[0]["date"])
	require.Equal(t, "2026-11-06", a.Data.Metrics[59]["date"])

	// Settled days carry the settled numbers; the last two are partial.
	settled := s.BusinessMetrics(time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC))
	m := a.Data.Metrics[57]
	require.Equal(t, "2026-11-04", m["date"])
	require.Equal(t, json.Number(itoa(settled.VideoViews)), m["video_views"])
	require.Equal(t, json.Number(itoa(*settled.PhoneNumberClicks)), m["phone_number_clicks"])
	require.Len(t, m["audience_activity"], 24)
	for _, i := range []int{58, 59} {
		d, err := time.Parse(time.DateOnly, a.Data.Metrics[i]["date"].(string))
		require.NoError(t, err)
		require.Less(t, mustInt(t, a.Data.Metrics[i]["video_views"]), s.BusinessMetrics(d).VideoViews, "day %s is still being counted", d)
	}
	// Followers add up from day to day.
	prev := s.BusinessMetrics(time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))
	require.Equal(t, settled.DailyTotalFollowers-prev.DailyTotalFollowers, settled.DailyNewFollowers-settled.DailyLostFollowers)

	// Only the requested metrics come back.
	a = business(t, base, testBusinessToken, businessParams("2026-11-01", "2026-11-02", "likes"))
	require.Equal(t, BusinessCodeOK, a.Code)
	require.Len(t, a.Data.Metrics, 2)
	require.Len(t, a.Data.Metrics[0], 2, "date and likes")
	require.Nil(t, a.Data.DisplayName)

	// The same day is served the same way on every call and after a day.
	clk.Add(24 * time.Hour)
	b := business(t, base, testBusinessToken, businessParams("2026-11-01", "2026-11-02", "likes"))
	require.Equal(t, a.Data.Metrics, b.Data.Metrics)
	require.Equal(t, 3, s.Counts().Business)
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func mustInt(t *testing.T, v any) int64 {
	t.Helper()
	n, err := v.(json.Number).Int64()
	require.NoError(t, err)
	return n
}

func TestBusinessPersonalAccount(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)}
	_, base := start(t, Options{Now: clk.Now, BusinessID: testBusinessID, BusinessAccessToken: testBusinessToken, BusinessPersonalAccount: true})
	a := business(t, base, testBusinessToken, businessParams("2026-11-01", "2026-11-01", "phone_number_clicks", "video_views"))
	require.Equal(t, BusinessCodeOK, a.Code)
	v, present := a.Data.Metrics[0]["phone_number_clicks"]
	require.True(t, present)
	require.Nil(t, v, "null for a personal account, not absent and not 0")
	require.NotNil(t, a.Data.Metrics[0]["video_views"])
}

func TestBusinessErrors(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)}
	s, base := start(t, Options{Now: clk.Now, BusinessID: testBusinessID, BusinessAccessToken: testBusinessToken, BusinessRateLimitEvery: 4})
	ok := businessParams("2026-11-01", "2026-11-02", "likes")

	require.Equal(t, BusinessCodeInvalidToken, business(t, base, "wrong", ok).Code)
	other := businessParams("2026-11-01", "2026-11-02", "likes")
	other.Set("business_id", "someone-else")
	require.Equal(t, BusinessCodeNoPermission, business(t, base, testBusinessToken, other).Code)
	require.Equal(t, BusinessCodeInvalidParams, business(t, base, testBusinessToken, businessParams("2026-09-07", "2026-11-02", "likes")).Code, "61 days back")
	a := business(t, base, testBusinessToken, ok)
	require.Equal(t, BusinessCodeRateLimited, a.Code, "the 4th request is throttled")
	require.Empty(t, a.Data.Metrics)
	require.Equal(t, BusinessCodeInvalidParams, business(t, base, testBusinessToken, businessParams("2026-11-02", "2026-11-01", "likes")).Code)
	require.Equal(t, BusinessCodeInvalidParams, business(t, base, testBusinessToken, businessParams("2026-11-01", "2026-11-08", "likes")).Code)
	require.Equal(t, BusinessCodeInvalidParams, business(t, base, testBusinessToken, businessParams("2026-11-01", "2026-11-02", "nope")).Code)
	require.Equal(t, BusinessCodeRateLimited, business(t, base, testBusinessToken, ok).Code, "and the 8th")
	require.Equal(t, BusinessCodeOK, business(t, base, testBusinessToken, ok).Code)

	c := s.Counts()
	require.Equal(t, 9, c.Business)
	require.Equal(t, 2, c.BusinessThrottled)
	require.Equal(t, 6, c.BusinessErrors)

	_, base = start(t, Options{Now: clk.Now})
	require.Equal(t, BusinessCodeInvalidToken, business(t, base, "", ok).Code, "no business account configured")
}

func TestBusinessIDDefaultsToTheAccount(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 7, 10, 0, 0, 0, time.UTC)}
	s, base := start(t, Options{Now: clk.Now, BusinessAccessToken: testBusinessToken})
	require.Equal(t, s.Account().OpenID, s.Options().BusinessID)
	require.Equal(t, DefaultAccessTokenTTL, s.Options().AccessTokenTTL, "Options has the defaults filled in")
	p := businessParams("2026-11-01", "2026-11-01", "likes")
	p.Set("business_id", s.Account().OpenID)
	require.Equal(t, BusinessCodeOK, business(t, base, testBusinessToken, p).Code)
	require.Equal(t, BusinessCodeNoPermission, business(t, base, testBusinessToken, businessParams("2026-11-01", "2026-11-01", "likes")).Code)
}
