package emulator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"time"
)

// BusinessPath is the account endpoint of the TikTok Accounts API (API for
// Business), served beside the Display API; the real host is
// https://business-api.tiktok.com.
const BusinessPath = "/open_api/v1.3/business/get/"

// Accounts API response codes ("code" in the {code, message, request_id,
// data} envelope; every answer is HTTP 200). 40100 is the documented
// throttling code; the others are the emulator's choice of the Business
// API's usual codes (sources.md §3.7 marks the envelope as unverified).
const (
	BusinessCodeOK            = 0
	BusinessCodeNoPermission  = 40001
	BusinessCodeInvalidParams = 40002
	BusinessCodeRateLimited   = 40100
	BusinessCodeInvalidToken  = 40105
)

// BusinessLookbackDays is how far back /business/get/ serves daily metrics:
// start_date may be at most this many days before today (UTC).
const BusinessLookbackDays = 60

// BusinessLatency is how long daily metrics take to settle: a day's
// numbers are final once BusinessLatency has passed since the day ended;
// before that /business/get/ serves partial numbers for it.
const BusinessLatency = 48 * time.Hour

// businessAccountFields are the account-level fields of /business/get/.
var businessAccountFields = map[string]bool{
	"is_business_account": true, "profile_image": true, "display_name": true, "username": true,
	"profile_deep_link": true, "bio_description": true, "is_verified": true,
	"following_count": true, "followers_count": true, "total_likes": true, "videos_count": true,
}

// BusinessMetricFields are the daily metrics the emulator serves in the
// metrics entries, in the order it writes them.
var BusinessMetricFields = []string{
	"video_views", "unique_video_views", "profile_views", "likes", "comments", "shares",
	"phone_number_clicks", "lead_submissions", "app_download_clicks", "bio_link_clicks",
	"email_clicks", "address_clicks", "daily_total_followers", "daily_new_followers",
	"daily_lost_followers", "followers_count", "audience_activity",
}

// businessOnlyMetrics are null for personal accounts.
var businessOnlyMetrics = map[string]bool{
	"phone_number_clicks": true, "lead_submissions": true, "app_download_clicks": true,
	"email_clicks": true, "address_clicks": true,
}

// HourCount is one entry of audience_activity: how many followers were
// active in an hour of the day (UTC).
type HourCount struct {
	Hour  string `json:"hour"`
	Count int64  `json:"count"`
}

// BusinessDay is the settled daily metrics of one day. The pointer fields
// are nil for personal accounts (Options.BusinessPersonalAccount).
type BusinessDay struct {
	Date                string
	VideoViews          int64
	UniqueVideoViews    int64
	ProfileViews        int64
	Likes               int64
	Comments            int64
	Shares              int64
	PhoneNumberClicks   *int64
	LeadSubmissions     *int64
	AppDownloadClicks   *int64
	BioLinkClicks       int64
	EmailClicks         *int64
	AddressClicks       *int64
	DailyTotalFollowers int64
	DailyNewFollowers   int64
	DailyLostFollowers  int64
	FollowersCount      int64
	AudienceActivity    []HourCount
}

// businessEnvelope is the body of every Accounts API answer.
type businessEnvelope struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Data      any    `json:"data"`
}

// businessHash is a deterministic number for (seed, day, salt).
func businessHash(seed uint64, day int64, salt string) int64 {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%d/%d/%s", seed, day, salt)
	return int64(h.Sum64() >> 2)
}

// businessTotal is the follower total at the end of a day (days since the
// epoch): it grows by about 30 a day.
func (s *Server) businessTotal(day int64) int64 {
	return 10_000 + 30*(day-19_000) + businessHash(s.opts.Seed, day, "total")%7
}

// BusinessMetrics returns the settled metrics of date (its UTC day), the
// same on every call for a given Seed.
func (s *Server) BusinessMetrics(date time.Time) BusinessDay {
	day := int64(date.UTC().Truncate(24*time.Hour).Unix() / 86400)
	h := func(salt string, mod int64) int64 { return businessHash(s.opts.Seed, day, salt) % mod }
	lost := h("lost", 12)
	total := s.businessTotal(day)
	views := 800 + h("views", 5000)
	d := BusinessDay{
		Date:                time.Unix(day*86400, 0).UTC().Format(time.DateOnly),
		VideoViews:          views,
		UniqueVideoViews:    views * (60 + h("unique", 30)) / 100,
		ProfileViews:        20 + h("profile", 150),
		Likes:               views * (5 + h("likes", 8)) / 100,
		Comments:            h("comments", 40),
		Shares:              h("shares", 25),
		BioLinkClicks:       h("bio", 15),
		DailyTotalFollowers: total,
		DailyNewFollowers:   total - s.businessTotal(day-1) + lost,
		DailyLostFollowers:  lost,
		FollowersCount:      total,
	}
	if !s.opts.BusinessPersonalAccount {
		v := func(salt string, mod int64) *int64 { x := h(salt, mod); return &x }
		d.PhoneNumberClicks, d.LeadSubmissions, d.AppDownloadClicks = v("phone", 3), v("lead", 2), v("app", 4)
		d.EmailClicks, d.AddressClicks = v("email", 3), v("address", 2)
	}
	for hour := range 24 {
		d.AudienceActivity = append(d.AudienceActivity, HourCount{Hour: fmt.Sprint(hour), Count: total * (2 + h(fmt.Sprint("hour", hour), 9)) / 100})
	}
	return d
}

// metricsJSON renders the requested metric fields of d, scaling the counts
// by share (1 for a settled day, less while the day is still being
// counted).
func metricsJSON(d BusinessDay, fields []string, share float64) map[string]any {
	part := func(v int64) int64 { return int64(float64(v) * share) }
	opt := func(v *int64) any {
		if v == nil {
			return nil
		}
		return part(*v)
	}
	m := map[string]any{"date": d.Date}
	for _, f := range fields {
		switch f {
		case "video_views":
			m[f] = part(d.VideoViews)
		case "unique_video_views":
			m[f] = part(d.UniqueVideoViews)
		case "profile_views":
			m[f] = part(d.ProfileViews)
		case "likes":
			m[f] = part(d.Likes)
		case "comments":
			m[f] = part(d.Comments)
		case "shares":
			m[f] = part(d.Shares)
		case "phone_number_clicks":
			m[f] = opt(d.PhoneNumberClicks)
		case "lead_submissions":
			m[f] = opt(d.LeadSubmissions)
		case "app_download_clicks":
			m[f] = opt(d.AppDownloadClicks)
		case "bio_link_clicks":
			m[f] = part(d.BioLinkClicks)
		case "email_clicks":
			m[f] = opt(d.EmailClicks)
		case "address_clicks":
			m[f] = opt(d.AddressClicks)
		case "daily_total_followers":
			m[f] = d.DailyTotalFollowers
		case "daily_new_followers":
			m[f] = part(d.DailyNewFollowers)
		case "daily_lost_followers":
			m[f] = part(d.DailyLostFollowers)
		case "followers_count":
			m[f] = d.FollowersCount
		case "audience_activity":
			m[f] = d.AudienceActivity
		}
	}
	return m
}

// writeBusiness writes an Accounts API envelope with HTTP 200. The caller
// holds s.mu.
func (s *Server) writeBusiness(w http.ResponseWriter, code int, msg string, data any) {
	if data == nil {
		data = struct{}{}
	}
	writeJSON(w, http.StatusOK, businessEnvelope{Code: code, Message: msg, RequestID: s.logID(), Data: data})
}

// businessFail writes a failed Accounts API answer and counts it. The
// caller holds s.mu.
func (s *Server) businessFail(w http.ResponseWriter, code int, msg string) {
	s.counts.BusinessErrors++
	s.writeBusiness(w, code, msg, nil)
}

// handleBusiness serves GET /open_api/v1.3/business/get/: the account
// fields asked for in fields (a JSON array of names) and, when daily metric
// fields are asked for, a metrics entry per day from start_date to end_date
// (inclusive, at most BusinessLookbackDays back, days up to yesterday).
// Days less than BusinessLatency old carry partial numbers.
func (s *Server) handleBusiness(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Business++
	s.businessSeq++
	if n := s.opts.BusinessRateLimitEvery; n > 0 && s.businessSeq%n == 0 {
		s.counts.BusinessThrottled++
		s.writeBusiness(w, BusinessCodeRateLimited, "Too many requests. Please retry in some time.", nil)
		return
	}
	q := r.URL.Query()
	if tok := r.Header.Get("Access-Token"); tok == "" || tok != s.opts.BusinessAccessToken || s.opts.BusinessAccessToken == "" {
		s.businessFail(w, BusinessCodeInvalidToken, "Access token is invalid or has been revoked.")
		return
	}
	if q.Get("business_id") != s.opts.BusinessID {
		s.businessFail(w, BusinessCodeNoPermission, "No permission to operate business_id "+q.Get("business_id")+".")
		return
	}
	var fields []string
	if err := json.Unmarshal([]byte(q.Get("fields")), &fields); err != nil || len(fields) == 0 {
		s.businessFail(w, BusinessCodeInvalidParams, "fields: must be a non-empty JSON array of field names.")
		return
	}
	var metricFields []string
	for _, f := range fields {
		isMetric := false
		for _, m := range BusinessMetricFields {
			isMetric = isMetric || m == f
		}
		switch {
		case isMetric:
			metricFields = append(metricFields, f)
		case !businessAccountFields[f]:
			s.businessFail(w, BusinessCodeInvalidParams, fmt.Sprintf("fields: unknown field %q.", f))
			return
		}
	}
	a := s.account
	data := map[string]any{}
	for _, f := range fields {
		switch f {
		case "is_business_account":
			data[f] = !s.opts.BusinessPersonalAccount
		case "profile_image":
			data[f] = a.AvatarURL
		case "display_name":
			data[f] = a.DisplayName
		case "username":
			data[f] = a.Username
		case "profile_deep_link":
			data[f] = "https://vm.tiktok.com/ZM" + a.OpenID[len(a.OpenID)-6:] + "/"
		case "bio_description":
			data[f] = a.BioDescription
		case "is_verified":
			data[f] = a.IsVerified
		case "following_count":
			data[f] = a.FollowingCount
		case "followers_count":
			data[f] = a.FollowerCount
		case "total_likes":
			data[f] = a.LikesCount
		case "videos_count":
			data[f] = a.VideoCount
		}
	}
	if len(metricFields) > 0 {
		metrics, msg := s.businessMetrics(q.Get("start_date"), q.Get("end_date"), metricFields)
		if msg != "" {
			s.businessFail(w, BusinessCodeInvalidParams, msg)
			return
		}
		data["metrics"] = metrics
	}
	s.writeBusiness(w, BusinessCodeOK, "OK", data)
}

// businessMetrics returns the metrics entries from start to end, or a
// message saying why the range is invalid. The caller holds s.mu.
func (s *Server) businessMetrics(start, end string, fields []string) ([]map[string]any, string) {
	from, err1 := time.Parse(time.DateOnly, start)
	to, err2 := time.Parse(time.DateOnly, end)
	if err1 != nil || err2 != nil {
		return nil, "start_date and end_date are required, as YYYY-MM-DD."
	}
	now := s.now().UTC()
	today := now.Truncate(24 * time.Hour)
	switch {
	case to.Before(from):
		return nil, "end_date must not be before start_date."
	case from.Before(today.AddDate(0, 0, -BusinessLookbackDays)):
		return nil, fmt.Sprintf("start_date must be within the last %d days.", BusinessLookbackDays)
	case to.After(today):
		return nil, "end_date must not be in the future."
	}
	metrics := []map[string]any{}
	for d := from; !d.After(to) && d.Before(today); d = d.AddDate(0, 0, 1) {
		share := 1.0
		if age := now.Sub(d.AddDate(0, 0, 1)); age < BusinessLatency {
			share = 0.3 + 0.7*float64(age)/float64(BusinessLatency)
		}
		metrics = append(metrics, metricsJSON(s.BusinessMetrics(d), fields, share))
	}
	return metrics, ""
}
