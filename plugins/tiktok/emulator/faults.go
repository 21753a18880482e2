package emulator

import (
	"bytes"
	"io"
	"net/http"
	"time"
)

// Burst selects data requests by their number n: 1 for the first data
// request the server receives, counted across /v2/user/info/ and
// /v2/video/list/ (token requests and Business API requests do not count).
// The burst covers the Count requests after the first After ones; when
// Every is positive it repeats, covering Count requests out of every Every
// from there on. The zero Burst covers nothing.
//
//	Burst{After: 3, Count: 2}           // requests 4 and 5
//	Burst{After: 0, Count: 1, Every: 4} // requests 1, 5, 9, …
type Burst struct {
	After int
	Count int
	Every int
}

// Covers reports whether the burst covers data request number n (1-based).
func (b Burst) Covers(n int) bool {
	if b.Count <= 0 || n <= b.After {
		return false
	}
	k := n - b.After - 1
	if b.Every > 0 {
		k %= b.Every
	}
	return k < b.Count
}

// malformedBody is what a data request covered by Options.MalformedJSON gets
// with HTTP 200: a response cut off in the middle, as when a proxy or the
// connection drops the end of the body.
const malformedBody = `{"data":{"videos":[{"id":"7569912233445566778","create_time":17623`

// enter numbers a data request, counts it under counter and holds the
// answer back by Options.SlowDelay when Options.SlowResponses covers it (or
// is the zero Burst). It returns the request's
// number, or 0 when the client gave up while the answer was held back (the
// request is then dropped without an answer and without effect).
func (s *Server) enter(r *http.Request, counter *int) int {
	s.mu.Lock()
	*counter++
	s.seq++
	n := s.seq
	slow := s.opts.SlowDelay > 0 && (s.opts.SlowResponses == Burst{} || s.opts.SlowResponses.Covers(n))
	if slow {
		s.counts.Slowed++
	}
	s.mu.Unlock()
	if !slow {
		return n
	}
	// Read the body to its end first: only then does the server notice a
	// client that hangs up (and cancel the request's context).
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return 0
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	t := time.NewTimer(s.opts.SlowDelay)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		s.mu.Lock()
		s.counts.Abandoned++
		s.mu.Unlock()
		return 0
	case <-t.C:
		return n
	}
}

// injectFault answers data request n with the fault a knob assigns to it,
// if any, and reports whether it did. Server errors come first, then
// malformed bodies, then throttling, then token expiry (which lets the
// request fall through to the access-token check). The caller holds s.mu.
func (s *Server) injectFault(w http.ResponseWriter, n int) bool {
	if s.opts.ServerErrors.Covers(n) {
		s.counts.ServerErrors++
		switch n % 3 {
		case 0:
			s.writeError(w, http.StatusInternalServerError, CodeInternalError, "Something went wrong. Please try again later.")
		case 1:
			writeHTML(w, http.StatusBadGateway, "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>\n")
		default:
			writeHTML(w, http.StatusServiceUnavailable, "<html><head><title>503 Service Unavailable</title></head><body>503 Service Unavailable</body></html>\n")
		}
		return true
	}
	if s.opts.MalformedJSON.Covers(n) {
		s.counts.Malformed++
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(malformedBody))
		return true
	}
	if (s.opts.RateLimitEvery > 0 && n%s.opts.RateLimitEvery == 0) || s.opts.RateLimitStorm.Covers(n) {
		s.counts.RateLimited++
		status := http.StatusTooManyRequests
		if s.opts.InBodyRateLimit {
			status = http.StatusOK
		}
		s.writeError(w, status, CodeRateLimitExceeded, "The API rate limit was exceeded. Please try again later.")
		return true
	}
	if e := s.opts.ExpireTokensEvery; e > 0 && n%e == 0 {
		s.expireAccessTokensLocked()
	}
	return false
}

// ExpireAccessTokens ends the life of every access token issued so far, as
// when tokens reach their expiry in the middle of a run: the next data
// request with one of them gets 401 access_token_invalid, and a refresh
// (which rotates the refresh token) issues a working one.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAccessTokensLocked()
}

// expireAccessTokensLocked is ExpireAccessTokens for a caller holding s.mu.
func (s *Server) expireAccessTokensLocked() {
	now := s.now()
	for tok, exp := range s.accessTokens {
		if now.Before(exp) {
			s.accessTokens[tok] = now
			s.counts.Expired++
		}
	}
}

// writeHTML writes an HTML error page, as a load balancer in front of the
// API does.
func writeHTML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
