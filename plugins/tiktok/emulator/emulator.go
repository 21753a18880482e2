// Package emulator is an in-process fake of the TikTok Display API v2
// (https://open.tiktokapis.com) and of the account endpoint of the TikTok
// Accounts API (https://business-api.tiktok.com), for tests of the TikTok
// source plugin.
//
// It serves four endpoints over an httptest.Server:
//
//   - POST /v2/oauth/token/ (form-encoded, grant_type=refresh_token). Refresh
//     tokens are rotated on every refresh: the old one then fails with
//     invalid_grant. OAuth errors use the OAuth shape
//     {"error","error_description","log_id"}.
//   - GET /v2/user/info/?fields=… returning data.user with only the requested
//     fields (and only those covered by a granted scope).
//   - POST /v2/video/list/?fields=… with the JSON body {"cursor","max_count"}
//     returning data.videos, data.cursor and data.has_more. Videos are sorted
//     by create_time descending; create_time is in seconds while cursor is in
//     milliseconds; max_count defaults to 10 and may not exceed 20.
//   - GET /open_api/v1.3/business/get/?business_id=…&fields=[…]&start_date=…&end_date=…
//     with the Access-Token header, returning the {code, message,
//     request_id, data} envelope (code 0 on success, every answer HTTP 200)
//     with the account fields and one data.metrics entry per day, at most
//     60 days back; the last two days carry partial numbers (the 24–48 h
//     latency). See BusinessMetrics.
//
// Display API data responses use the envelope
// {"data":…,"error":{"code","message","log_id"}} with error.code "ok" on
// success. Failures follow the reference: 400 invalid_params, 401
// access_token_invalid / scope_not_authorized, 429 rate_limit_exceeded
// without a Retry-After header, 500 internal_error.
//
// The fake account and its videos are generated deterministically from
// Options.Seed and the clock at New (create times count back from it; fix
// Options.Now for byte-stable data). Video ids are 19-digit strings (they do not survive a float64
// round trip), counters are lifetime totals, and titles contain emoji,
// newlines, quotes, hashtags or are empty. AdvanceDay moves the counters on
// as if a day had passed (views grow, some likes are removed), so that daily
// snapshots differ.
//
// Fault knobs in Options inject, on Display API data requests: throttling
// every Nth request (RateLimitEvery) or in a storm (RateLimitStorm), with
// HTTP 429 or the code inside an HTTP 200 body (InBodyRateLimit); 5xx bursts
// (ServerErrors); truncated JSON (MalformedJSON); slow answers
// (SlowResponses, SlowDelay); access tokens expiring mid-run
// (ExpireTokensEvery); short and empty pages with has_more (ShortPages);
// videos repeated across pages (DuplicateAcrossPages); and a revoked
// authorization (RevokeAfter). Refresh tokens always rotate. The Business
// endpoint throttles with code 40100 (BusinessRateLimitEvery). Counts
// reports how many requests each endpoint received and how each knob fired.
//
// Typical use:
//
//	srv := emulator.New(emulator.Options{ClientKey: "ck", ClientSecret: "cs", RefreshToken: "rft.seed", VideoCount: 45})
//	base := srv.Start()
//	defer srv.Close()
package emulator

import (
	"net/http/httptest"
	"sync"
	"time"
)

// Scope names of the Display API used by the emulator.
const (
	ScopeUserInfoBasic   = "user.info.basic"
	ScopeUserInfoProfile = "user.info.profile"
	ScopeUserInfoStats   = "user.info.stats"
	ScopeVideoList       = "video.list"
)

// DefaultScope is the scope granted when Options.Scope is empty: every scope
// the emulator knows.
const DefaultScope = ScopeUserInfoBasic + "," + ScopeUserInfoProfile + "," + ScopeUserInfoStats + "," + ScopeVideoList

// Default token lifetimes, from the 2026 TikTok documentation (2 h and 180 days).
const (
	DefaultAccessTokenTTL  = 2 * time.Hour
	DefaultRefreshTokenTTL = 180 * 24 * time.Hour
)

// Options configures a Server. The zero value is usable: it serves an
// account without videos, accepts any client credentials (ClientKey is
// empty), has no valid refresh token, and injects no faults.
type Options struct {
	// ClientKey and ClientSecret are the app credentials the token endpoint
	// requires. When ClientKey is empty any credentials are accepted.
	ClientKey    string
	ClientSecret string
	// RefreshToken is the initial, valid refresh token.
	RefreshToken string
	// AccessToken, when set, is a valid access token from the start, so that
	// tests may call data endpoints without refreshing first.
	AccessToken string
	// AccessTokenTTL is the lifetime of issued access tokens (expires_in);
	// DefaultAccessTokenTTL when zero.
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is the lifetime of refresh tokens (refresh_expires_in);
	// DefaultRefreshTokenTTL when zero.
	RefreshTokenTTL time.Duration
	// Scope is the comma-separated granted scope; DefaultScope when empty.
	// Without video.list, /v2/video/list/ answers 401 scope_not_authorized;
	// user fields whose scope is missing are silently left out.
	Scope string
	// Now is the clock used for token expiry, log ids and cover URL expiry;
	// time.Now when nil.
	Now func() time.Time

	// Account seeds the profile. Empty strings and zero counters are replaced
	// with generated values; video_count always equals the number of videos.
	Account Account
	// VideoCount is the number of videos to seed.
	VideoCount int
	// Seed makes the generated data deterministic (together with Now).
	Seed uint64

	// RateLimitEvery, when N > 0, throttles every Nth data request (the Nth,
	// 2Nth, …, counted across /v2/user/info/ and /v2/video/list/) with HTTP
	// 429 and error code rate_limit_exceeded, without a Retry-After header.
	RateLimitEvery int
	// InBodyRateLimit makes throttled requests answer HTTP 200 with the
	// rate_limit_exceeded code in the body envelope instead of HTTP 429, so
	// that clients must check error.code and not only the status.
	InBodyRateLimit bool
	// ShortPages makes /v2/video/list/ return pages shorter than max_count
	// while has_more is true: of every three list calls, the second returns an
	// empty page (has_more true, cursor unchanged) and the third about half of
	// max_count.
	ShortPages bool
	// DuplicateAcrossPages makes every page after the first start with the
	// last video of the previous page (when max_count > 1).
	DuplicateAcrossPages bool
	// RevokeAfter, when N > 0, revokes the authorization after N data
	// requests have been answered: later data requests get 401
	// access_token_invalid and refreshes get invalid_grant.
	RevokeAfter int
	// RateLimitStorm throttles a run of consecutive data requests (a 429
	// storm), answered like RateLimitEvery (HTTP 429, or HTTP 200 with the
	// code in the body when InBodyRateLimit is set).
	RateLimitStorm Burst
	// ServerErrors answers the data requests it covers with a 5xx: HTTP 500
	// with error code internal_error, or a 502 or 503 HTML page from the
	// load balancer, in turn.
	ServerErrors Burst
	// MalformedJSON answers the data requests it covers with HTTP 200 and a
	// JSON body cut off in the middle.
	MalformedJSON Burst
	// SlowDelay holds back the answer to data requests by this long: those
	// SlowResponses covers, or every one when SlowResponses is the zero
	// Burst. A client that gives up before then gets no answer, and the
	// request has no effect.
	SlowDelay     time.Duration
	SlowResponses Burst
	// ExpireTokensEvery, when N > 0, expires every access token issued so
	// far just before the Nth, 2Nth, … data request is checked, as when
	// tokens run out in the middle of a run: that request gets 401
	// access_token_invalid and the client must refresh (rotating the refresh
	// token) to go on.
	ExpireTokensEvery int

	// BusinessAccessToken is the Access-Token the Accounts API (API for
	// Business) accepts; when empty, /business/get/ answers every request
	// with code 40105 (invalid token).
	BusinessAccessToken string
	// BusinessID is the business_id the Accounts API serves; the account's
	// OpenID when empty (for the Accounts API the business_id is the
	// account's open_id). Other ids get code 40001 (no permission).
	BusinessID string
	// BusinessRateLimitEvery, when N > 0, throttles every Nth request to
	// /business/get/ with HTTP 200 and code 40100, as the Accounts API does.
	BusinessRateLimitEvery int
	// BusinessPersonalAccount makes the business-only daily metrics
	// (phone_number_clicks, lead_submissions, app_download_clicks,
	// email_clicks, address_clicks) null, as for a personal account.
	BusinessPersonalAccount bool
}

// Account is the fake TikTok user behind the tokens.
type Account struct {
	// OpenID and UnionID identify the user to this app and across the
	// developer's apps.
	OpenID  string
	UnionID string
	// DisplayName, Username, AvatarURL, BioDescription and IsVerified are
	// the profile fields (scopes user.info.basic and user.info.profile).
	DisplayName    string
	Username       string
	AvatarURL      string
	BioDescription string
	IsVerified     bool
	// FollowerCount, FollowingCount, LikesCount and VideoCount are the
	// lifetime counters (scope user.info.stats). VideoCount is always the
	// number of videos.
	FollowerCount  int64
	FollowingCount int64
	LikesCount     int64
	VideoCount     int64
}

// Video is one public post with its lifetime counters.
type Video struct {
	// ID is the 19-digit item id, always a string on the wire.
	ID string
	// CreateTime is the UTC Unix time of posting, in seconds.
	CreateTime int64
	// Title and VideoDescription hold up to 150 characters; Title is often empty.
	Title            string
	VideoDescription string
	// Duration is in seconds; Height and Width in pixels.
	Duration int32
	Height   int32
	Width    int32
	IsAIGC   bool
	// ViewCount, LikeCount, CommentCount and ShareCount are lifetime totals.
	ViewCount    int64
	LikeCount    int64
	CommentCount int64
	ShareCount   int64
}

// Counts reports the requests the server received, by endpoint and outcome.
type Counts struct {
	// Token, UserInfo and VideoList count every request to each endpoint.
	Token     int
	UserInfo  int
	VideoList int
	// Refreshed counts successful refresh grants.
	Refreshed int
	// RateLimited counts throttled data requests.
	RateLimited int
	// Unauthorized counts data requests rejected with HTTP 401.
	Unauthorized int
	// TokenErrors counts token requests answered with an OAuth error.
	TokenErrors int
	// ServerErrors, Malformed and Slowed count data requests answered with a
	// 5xx, with a truncated body, or held back, by the fault knobs;
	// Abandoned counts held-back requests the client gave up on.
	ServerErrors int
	Malformed    int
	Slowed       int
	Abandoned    int
	// Expired counts access tokens expired by ExpireTokensEvery or
	// ExpireAccessTokens.
	Expired int
	// Business counts requests to /business/get/, BusinessThrottled those
	// answered with code 40100 and BusinessErrors those answered with
	// another non-zero code.
	Business          int
	BusinessThrottled int
	BusinessErrors    int
}

// Server is a running (or startable) Display API emulator. Its methods are
// safe for concurrent use.
type Server struct {
	ts   *httptest.Server
	opts Options

	mu            sync.Mutex
	now           func() time.Time
	scopes        map[string]bool
	account       Account
	videos        []Video // sorted by CreateTime descending
	day           int
	refreshToken  string
	refreshExpiry time.Time
	accessTokens  map[string]time.Time // token -> expiry
	revoked       bool
	seq           int // data requests received (numbers them for Burst)
	businessSeq   int // Business API requests received
	served        int // data requests answered successfully
	listCalls     int // list calls that reached paging
	logSeq        uint64
	counts        Counts
}

// New builds a Server from opts, seeding the account and its videos. The
// server does not listen until Start is called.
func New(opts Options) *Server {
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if opts.RefreshTokenTTL <= 0 {
		opts.RefreshTokenTTL = DefaultRefreshTokenTTL
	}
	if opts.Scope == "" {
		opts.Scope = DefaultScope
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		opts:         opts,
		now:          now,
		scopes:       parseList(opts.Scope),
		refreshToken: opts.RefreshToken,
		accessTokens: map[string]time.Time{},
	}
	t := now()
	s.refreshExpiry = t.Add(opts.RefreshTokenTTL)
	if opts.AccessToken != "" {
		s.accessTokens[opts.AccessToken] = t.Add(opts.AccessTokenTTL)
	}
	s.account, s.videos = seed(opts, t)
	if s.opts.BusinessID == "" {
		s.opts.BusinessID = s.account.OpenID
	}
	s.ts = httptest.NewUnstartedServer(s.routes())
	return s
}

// Start starts listening on a loopback port and returns the base URL (no
// trailing slash), to be used in place of https://open.tiktokapis.com.
func (s *Server) Start() string {
	s.ts.Start()
	return s.ts.URL
}

// Close shuts the server down and blocks until outstanding requests finish.
func (s *Server) Close() {
	s.ts.Close()
}

// RefreshToken returns the currently valid refresh token.
func (s *Server) RefreshToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshToken
}

// Options returns the options the server runs with, defaults filled in
// (token lifetimes, scope, BusinessID).
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// AccessTokens returns every access token the server has issued or was
// given, expired or not (for tests that check no token leaks).
func (s *Server) AccessTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.accessTokens))
	for tok := range s.accessTokens {
		out = append(out, tok)
	}
	return out
}

// Revoke revokes the authorization now, as if the user had disconnected the
// app: data requests get 401 access_token_invalid, refreshes invalid_grant.
func (s *Server) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// Counts returns a copy of the request counters.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Account returns the current profile.
func (s *Server) Account() Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.account
}

// Videos returns a copy of the current videos, newest first.
func (s *Server) Videos() []Video {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Video(nil), s.videos...)
}

// RemoveVideo deletes the video with the given id, as when a post is taken
// down; it reports whether the video existed.
func (s *Server) RemoveVideo(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, v := range s.videos {
		if v.ID == id {
			s.videos = append(s.videos[:i], s.videos[i+1:]...)
			s.account.VideoCount = int64(len(s.videos))
			s.account.LikesCount -= v.LikeCount
			return true
		}
	}
	return false
}
