// Package emulator is a local, in-process emulator of the Spotify Web API
// (client-credentials token endpoint plus the artist, album and track read
// endpoints) for testing the Spotify connector offline.
//
// It follows the reference notes on Spotify (sources.md §2 and §5 items 16–21): the
// regular error object {"error":{"status":…,"message":…}} on /v1, the
// authentication error object {"error":"invalid_client","error_description":…}
// on the token endpoint, offset paging with absolute next/previous URLs that
// point back to the emulator, and two profiles:
//
//   - ProfileExtended: classic full objects (followers, popularity,
//     available_markets) and the top-tracks and batch ?ids= endpoints.
//   - ProfileDevMode: the February/March 2026 Development-Mode cuts: those keys
//     are absent (not null) and the removed endpoints fail with
//     Options.RemovedEndpointStatus (403 by default; the real status is not
//     documented).
//
// Usage:
//
//	srv := emulator.New(emulator.Options{Profile: emulator.ProfileDevMode})
//	base := srv.Start() // e.g. http://127.0.0.1:41234
//	defer srv.Close()
//	// token URL: base+"/api/token"; API base: base+"/v1"
//
// A *Server is also an http.Handler, so it can be mounted elsewhere without
// Start. Fault knobs (slow responses, server errors, 429s, token expiry,
// malformed JSON, short pages) apply to /v1 requests only, never to the
// token endpoint, and are checked in this order: SlowEvery (a delay, then
// the request goes on), ServerErrors, RateLimitEvery,
// RateLimitMidPagination, authentication (TokenTTL / ExpireTokenAfter), then
// the endpoint itself, whose 200 answer MalformedEvery may cut short.
//
// Unverified details (marked [knowledge] in the reference or guessed): the
// 404 message "non existing id", the 400 messages "invalid id", "Invalid
// limit", "Invalid offset" and "Too many ids requested", the 401 messages
// "No token provided" and "Invalid access token", and the removed-endpoint
// status and message.
package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Profile names accepted in Options.Profile.
const (
	// ProfileExtended emulates an Extended-Quota app (all fields and endpoints).
	ProfileExtended = "extended"
	// ProfileDevMode emulates a Development-Mode app after the 2026 cuts.
	ProfileDevMode = "devmode"
)

// Default credentials used when Options leaves them empty.
const (
	// DefaultClientID is the client id accepted when Options.ClientID is empty.
	DefaultClientID = "emulator-client-id"
	// DefaultClientSecret is the secret accepted when Options.ClientSecret is empty.
	DefaultClientSecret = "emulator-client-secret"
)

// Options configures a Server. The zero value is a working extended-profile
// emulator with the default catalog and no faults.
type Options struct {
	// Profile is ProfileExtended (default when empty) or ProfileDevMode.
	Profile string
	// ClientID and ClientSecret are the only accepted credentials
	// (defaults DefaultClientID / DefaultClientSecret).
	ClientID     string
	ClientSecret string
	// Catalog is the data served; nil means DefaultCatalog().
	Catalog *Catalog
	// TokenTTL is the access-token lifetime reported as expires_in and
	// enforced against Now (default 3600 s).
	TokenTTL time.Duration
	// Now is the clock used for token expiry (default time.Now).
	Now func() time.Time
	// BaseURL overrides the scheme://host used in href/next/previous URLs;
	// by default it is derived from each request's Host.
	BaseURL string
	// RemovedEndpointStatus is the HTTP status devmode returns for removed
	// endpoints (default 403).
	RemovedEndpointStatus int

	// RateLimitEvery makes every Nth /v1 request (counting all /v1
	// requests, 1-based) fail with 429 and Retry-After. 0 disables; 1 makes
	// every request fail.
	RateLimitEvery int
	// RetryAfterSeconds is the Retry-After value sent with every 429 (may be 0).
	RetryAfterSeconds int
	// RateLimitMidPagination makes the first request to a paged endpoint
	// with offset > 0 fail once with 429 (in addition to RateLimitEvery).
	RateLimitMidPagination bool
	// ExpireTokenAfter makes every access token expire after it has
	// authenticated N /v1 requests: request N+1 gets 401 "The access token
	// expired". 0 disables.
	ExpireTokenAfter int
	// ServerErrors is how many /v1 requests fail with 500, 502, 503 (cycling
	// in that order) before requests are served normally.
	ServerErrors int
	// MalformedEvery makes every Nth /v1 request (counting all /v1
	// requests, 1-based, like RateLimitEvery) that the endpoint answers with
	// 200 get a malformed body instead: the first half of the real JSON
	// body, still labelled application/json, as when a proxy or the
	// service cuts a response short. 0 disables.
	MalformedEvery int
	// SlowEvery makes every Nth /v1 request (1-based, same count) wait
	// SlowDelay before it is handled; the wait ends early when the client
	// gives up on the request. 0 means every request when SlowDelay is set,
	// else none.
	SlowEvery int
	// SlowDelay is how long a slow request waits (default 2 s when
	// SlowEvery is set).
	SlowDelay time.Duration

	// ShortPages, when > 0, caps every page to that many items regardless
	// of limit. limit is echoed as requested and next advances by the number
	// of items returned, so a client following next sees every item while a
	// client that stops on len(items) < limit or computes offset += limit
	// does not.
	ShortPages int
}

// Server is a running (or mountable) Spotify Web API emulator. It is safe
// for concurrent use.
type Server struct {
	opts Options
	ix   *index
	mux  *http.ServeMux

	mu             sync.Mutex
	ts             *httptest.Server
	requests       map[string]int
	total          int
	apiSeq         int
	serverErrors   int
	midPageLimited bool
	tokens         map[string]*tokenState
	tokenList      []string
	tokensIssued   int
	malformed      int
	slow           int
}

type tokenState struct {
	expires time.Time
	uses    int
}

// New returns a Server for opts, applying defaults. It does not listen
// until Start is called.
func New(opts Options) *Server {
	if opts.Profile == "" {
		opts.Profile = ProfileExtended
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.Catalog == nil {
		opts.Catalog = DefaultCatalog()
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SlowEvery > 0 && opts.SlowDelay <= 0 {
		opts.SlowDelay = 2 * time.Second
	}
	if opts.RemovedEndpointStatus == 0 {
		opts.RemovedEndpointStatus = http.StatusForbidden
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	s := &Server{
		opts:     opts,
		ix:       newIndex(opts.Catalog),
		requests: map[string]int{},
		tokens:   map[string]*tokenState{},
	}
	s.routes()
	return s
}

// Start serves the emulator on a loopback httptest.Server and returns its
// base URL (no trailing slash). The token endpoint is base+"/api/token" and
// the API base is base+"/v1". Calling Start twice returns the same URL.
func (s *Server) Start() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		s.ts = httptest.NewServer(s)
	}
	return s.ts.URL
}

// URL returns the base URL after Start, or "" before.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Close stops the listener started by Start; it is a no-op otherwise.
func (s *Server) Close() {
	s.mu.Lock()
	ts := s.ts
	s.ts = nil
	s.mu.Unlock()
	if ts != nil {
		ts.Close()
	}
}

// Catalog returns the catalog being served (do not modify it).
func (s *Server) Catalog() *Catalog { return s.opts.Catalog }

// Requests returns how many requests were received for the exact URL path
// (without query), whatever their outcome, e.g. Requests("/v1/tracks/ID").
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// RequestsWithPrefix returns how many requests were received for paths
// starting with prefix, e.g. RequestsWithPrefix("/v1/") for all API calls.
func (s *Server) RequestsWithPrefix(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for p, c := range s.requests {
		if strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

// TotalRequests returns the number of requests received on any path.
func (s *Server) TotalRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// TokensIssued returns how many access tokens the token endpoint minted.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokensIssued
}

// IssuedTokens returns every access token the token endpoint minted, in
// order, so that tests can check none of them leaks.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.tokenList...)
}

// MalformedResponses returns how many responses MalformedEvery cut short.
func (s *Server) MalformedResponses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.malformed
}

// SlowResponses returns how many requests SlowEvery delayed.
func (s *Server) SlowResponses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slow
}

func (s *Server) extended() bool { return s.opts.Profile != ProfileDevMode }

// ServeHTTP implements http.Handler: it counts the request, applies the
// fault knobs and authentication to /v1 paths, and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	s.total++
	s.mu.Unlock()
	if !strings.HasPrefix(r.URL.Path, "/v1/") && r.URL.Path != "/v1" {
		s.mux.ServeHTTP(w, r)
		return
	}
	seq := s.nextSeq()
	if s.opts.SlowDelay > 0 && (s.opts.SlowEvery == 0 || seq%s.opts.SlowEvery == 0) {
		s.mu.Lock()
		s.slow++
		s.mu.Unlock()
		t := time.NewTimer(s.opts.SlowDelay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if !s.applyFaults(w, r, seq) || !s.authenticate(w, r) {
		return
	}
	if s.opts.MalformedEvery > 0 && seq%s.opts.MalformedEvery == 0 {
		s.serveMalformed(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// nextSeq numbers a /v1 request (1-based).
func (s *Server) nextSeq() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiSeq++
	return s.apiSeq
}

// serveMalformed serves r and, when the endpoint answers 200, sends only
// the first half of its body.
func (s *Server) serveMalformed(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		body = body[:len(body)/2]
		s.mu.Lock()
		s.malformed++
		s.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	// A write error means the client went away; nothing useful to do.
	_, _ = w.Write(body)
}

// applyFaults writes a fault response and returns false when a knob fires
// for the request numbered seq.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request, seq int) bool {
	s.mu.Lock()
	var status int
	switch {
	case s.serverErrors < s.opts.ServerErrors:
		status = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.serverErrors%3]
		s.serverErrors++
	case s.opts.RateLimitEvery > 0 && seq%s.opts.RateLimitEvery == 0:
		status = http.StatusTooManyRequests
	case s.opts.RateLimitMidPagination && !s.midPageLimited && isPaged(r.URL.Path) && queryInt(r, "offset", 0) > 0:
		s.midPageLimited = true
		status = http.StatusTooManyRequests
	}
	s.mu.Unlock()
	switch status {
	case 0:
		return true
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(s.opts.RetryAfterSeconds))
		writeAPIError(w, status, "API rate limit exceeded")
	default:
		writeAPIError(w, status, http.StatusText(status))
	}
	return false
}

func isPaged(path string) bool {
	return strings.HasSuffix(path, "/albums") && strings.HasPrefix(path, "/v1/artists/") ||
		strings.HasSuffix(path, "/tracks") && strings.HasPrefix(path, "/v1/albums/")
}

func queryInt(r *http.Request, key string, def int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(key))
	if err != nil {
		return def
	}
	return v
}

// authenticate checks the bearer token and writes a 401 when it is missing,
// unknown or expired.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if h == "" {
		writeAPIError(w, http.StatusUnauthorized, "No token provided")
		return false
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		writeAPIError(w, http.StatusBadRequest, "Only valid bearer authentication supported")
		return false
	}
	s.mu.Lock()
	st := s.tokens[token]
	msg := ""
	switch {
	case st == nil:
		msg = "Invalid access token"
	case !s.opts.Now().Before(st.expires):
		msg = "The access token expired"
	case s.opts.ExpireTokenAfter > 0 && st.uses >= s.opts.ExpireTokenAfter:
		msg = "The access token expired"
	default:
		st.uses++
	}
	s.mu.Unlock()
	if msg != "" {
		writeAPIError(w, http.StatusUnauthorized, msg)
		return false
	}
	return true
}

func (s *Server) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	// A write error means the client went away; nothing useful to do.
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiErrorJSON{Error: apiErrorBody{Status: status, Message: msg}})
}

func writeAuthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, authErrorJSON{Error: code, ErrorDescription: desc})
}

// tokenHandler implements POST /api/token (client-credentials flow).
func (s *Server) tokenHandler(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeAuthError(w, "invalid_request", fmt.Sprintf("failed to parse form: %v", err))
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeAuthError(w, "unsupported_grant_type", "grant_type parameter is missing")
		return
	default:
		writeAuthError(w, "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch {
	case id == "" || id != s.opts.ClientID:
		writeAuthError(w, "invalid_client", "Invalid client")
		return
	case secret != s.opts.ClientSecret:
		writeAuthError(w, "invalid_client", "Invalid client secret")
		return
	}
	s.mu.Lock()
	s.tokensIssued++
	token := "BQ" + SpotifyID(fmt.Sprintf("token:%d", s.tokensIssued)) + SpotifyID(fmt.Sprintf("token2:%d", s.tokensIssued))
	s.tokens[token] = &tokenState{expires: s.opts.Now().Add(s.opts.TokenTTL)}
	s.tokenList = append(s.tokenList, token)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, tokenJSON{AccessToken: token, TokenType: "Bearer", ExpiresIn: int(s.opts.TokenTTL / time.Second)})
}
