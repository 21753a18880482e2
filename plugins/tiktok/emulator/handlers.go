package emulator

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Display API error codes (error.code in the data envelope).
const (
	CodeOK                 = "ok"
	CodeAccessTokenInvalid = "access_token_invalid"
	CodeScopeNotAuthorized = "scope_not_authorized"
	CodeInvalidParams      = "invalid_params"
	CodeRateLimitExceeded  = "rate_limit_exceeded"
	CodeInternalError      = "internal_error"
)

// OAuth error values (the "error" key of token endpoint failures).
const (
	OAuthInvalidRequest       = "invalid_request"
	OAuthInvalidClient        = "invalid_client"
	OAuthInvalidGrant         = "invalid_grant"
	OAuthUnsupportedGrantType = "unsupported_grant_type"
)

// Limits of /v2/video/list/.
const (
	DefaultMaxCount = 10
	MaxMaxCount     = 20
)

// userFieldScopes maps each User object field to the scope it needs.
var userFieldScopes = map[string]string{
	"open_id":           ScopeUserInfoBasic,
	"union_id":          ScopeUserInfoBasic,
	"avatar_url":        ScopeUserInfoBasic,
	"avatar_url_100":    ScopeUserInfoBasic,
	"avatar_large_url":  ScopeUserInfoBasic,
	"display_name":      ScopeUserInfoBasic,
	"bio_description":   ScopeUserInfoProfile,
	"profile_deep_link": ScopeUserInfoProfile,
	"is_verified":       ScopeUserInfoProfile,
	"username":          ScopeUserInfoProfile,
	"follower_count":    ScopeUserInfoStats,
	"following_count":   ScopeUserInfoStats,
	"likes_count":       ScopeUserInfoStats,
	"video_count":       ScopeUserInfoStats,
}

// videoFields are the Video object fields the emulator serves.
var videoFields = map[string]bool{
	"id": true, "create_time": true, "cover_image_url": true, "share_url": true,
	"video_description": true, "duration": true, "height": true, "width": true,
	"title": true, "embed_html": true, "embed_link": true, "like_count": true,
	"comment_count": true, "share_count": true, "view_count": true, "is_aigc": true,
}

// apiError is the error object of the data envelope.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	LogID   string `json:"log_id"`
}

// envelope is the {data, error} body of every Display API data response.
type envelope struct {
	Data  any      `json:"data"`
	Error apiError `json:"error"`
}

// videoPage is data of a /v2/video/list/ response.
type videoPage struct {
	Videos  []map[string]any `json:"videos"`
	Cursor  int64            `json:"cursor"`
	HasMore bool             `json:"has_more"`
}

// listRequest is the JSON body of /v2/video/list/.
type listRequest struct {
	Cursor   *int64 `json:"cursor"`
	MaxCount *int32 `json:"max_count"`
}

// tokenResponse is the body of a successful token grant.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	OpenID           string `json:"open_id"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	RefreshToken     string `json:"refresh_token"`
	Scope            string `json:"scope"`
	TokenType        string `json:"token_type"`
}

// oauthError is the body of a failed token request.
type oauthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	LogID            string `json:"log_id"`
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/oauth/token/", s.handleToken)
	mux.HandleFunc("GET /v2/user/info/", s.handleUserInfo)
	mux.HandleFunc("POST /v2/video/list/", s.handleVideoList)
	mux.HandleFunc("GET "+BusinessPath, s.handleBusiness)
	return mux
}

// handleToken serves POST /v2/oauth/token/.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Token++
	fail := func(status int, code, desc string) {
		s.counts.TokenErrors++
		writeJSON(w, status, oauthError{Error: code, ErrorDescription: desc, LogID: s.logID()})
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		fail(http.StatusBadRequest, OAuthInvalidRequest, "Content-Type must be application/x-www-form-urlencoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, OAuthInvalidRequest, "The request body could not be parsed.")
		return
	}
	if s.opts.ClientKey != "" && (r.PostForm.Get("client_key") != s.opts.ClientKey || r.PostForm.Get("client_secret") != s.opts.ClientSecret) {
		fail(http.StatusUnauthorized, OAuthInvalidClient, "Client key or secret is incorrect.")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "refresh_token" {
		fail(http.StatusBadRequest, OAuthUnsupportedGrantType, fmt.Sprintf("Grant type %q is not supported.", gt))
		return
	}
	rt := r.PostForm.Get("refresh_token")
	switch {
	case rt == "":
		fail(http.StatusBadRequest, OAuthInvalidRequest, "refresh_token is required.")
		return
	case s.revoked:
		fail(http.StatusBadRequest, OAuthInvalidGrant, "The user has revoked the authorization.")
		return
	case rt != s.refreshToken:
		fail(http.StatusBadRequest, OAuthInvalidGrant, "Refresh token is invalid or expired.")
		return
	case !s.now().Before(s.refreshExpiry):
		fail(http.StatusBadRequest, OAuthInvalidGrant, "Refresh token is invalid or expired.")
		return
	}
	now := s.now()
	access := "act." + randomHex(20)
	s.accessTokens[access] = now.Add(s.opts.AccessTokenTTL)
	s.refreshToken = "rft." + randomHex(20)
	s.refreshExpiry = now.Add(s.opts.RefreshTokenTTL)
	s.counts.Refreshed++
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:      access,
		ExpiresIn:        int64(s.opts.AccessTokenTTL / time.Second),
		OpenID:           s.account.OpenID,
		RefreshExpiresIn: int64(s.opts.RefreshTokenTTL / time.Second),
		RefreshToken:     s.refreshToken,
		Scope:            s.opts.Scope,
		TokenType:        "Bearer",
	})
}

// admit runs the checks common to data endpoints for data request number
// n: the fault knobs (see injectFault), then the access token. It writes
// the error response and returns false on failure. The caller holds s.mu.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, n int) bool {
	if s.injectFault(w, n) {
		return false
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	expiry, known := s.accessTokens[token]
	if !ok || !known || s.revoked || !s.now().Before(expiry) {
		s.counts.Unauthorized++
		s.writeError(w, http.StatusUnauthorized, CodeAccessTokenInvalid, "The access token is invalid or not found in the request.")
		return false
	}
	return true
}

// succeed writes a successful envelope and applies RevokeAfter. The caller
// holds s.mu.
func (s *Server) succeed(w http.ResponseWriter, data any) {
	s.served++
	if n := s.opts.RevokeAfter; n > 0 && s.served >= n {
		s.revoked = true
	}
	writeJSON(w, http.StatusOK, envelope{Data: data, Error: apiError{Code: CodeOK, LogID: s.logID()}})
}

// handleUserInfo serves GET /v2/user/info/.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	n := s.enter(r, &s.counts.UserInfo)
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.admit(w, r, n) {
		return
	}
	fields, bad := selectFields(r.URL.Query().Get("fields"), func(f string) bool { _, ok := userFieldScopes[f]; return ok })
	if len(fields) == 0 || bad != "" {
		s.writeError(w, http.StatusBadRequest, CodeInvalidParams, fieldsMessage(bad))
		return
	}
	a := s.account
	user := map[string]any{}
	for _, f := range fields {
		if !s.scopes[userFieldScopes[f]] {
			continue
		}
		switch f {
		case "open_id":
			user[f] = a.OpenID
		case "union_id":
			user[f] = a.UnionID
		case "avatar_url":
			user[f] = a.AvatarURL
		case "avatar_url_100":
			user[f] = strings.Replace(a.AvatarURL, "168x168", "100x100", 1)
		case "avatar_large_url":
			user[f] = strings.Replace(a.AvatarURL, "168x168", "1080x1080", 1)
		case "display_name":
			user[f] = a.DisplayName
		case "bio_description":
			user[f] = a.BioDescription
		case "profile_deep_link":
			user[f] = "https://vm.tiktok.com/ZM" + a.OpenID[len(a.OpenID)-6:] + "/"
		case "is_verified":
			user[f] = a.IsVerified
		case "username":
			user[f] = a.Username
		case "follower_count":
			user[f] = a.FollowerCount
		case "following_count":
			user[f] = a.FollowingCount
		case "likes_count":
			user[f] = a.LikesCount
		case "video_count":
			user[f] = a.VideoCount
		}
	}
	s.succeed(w, map[string]any{"user": user})
}

// handleVideoList serves POST /v2/video/list/.
func (s *Server) handleVideoList(w http.ResponseWriter, r *http.Request) {
	n := s.enter(r, &s.counts.VideoList)
	if n == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.admit(w, r, n) {
		return
	}
	if !s.scopes[ScopeVideoList] {
		s.counts.Unauthorized++
		s.writeError(w, http.StatusUnauthorized, CodeScopeNotAuthorized, "The user did not authorize the scope required for completing this request.")
		return
	}
	fields, bad := selectFields(r.URL.Query().Get("fields"), func(f string) bool { return videoFields[f] })
	if len(fields) == 0 || bad != "" {
		s.writeError(w, http.StatusBadRequest, CodeInvalidParams, fieldsMessage(bad))
		return
	}
	var req listRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		s.writeError(w, http.StatusBadRequest, CodeInvalidParams, "The request body is not valid JSON.")
		return
	}
	maxCount := DefaultMaxCount
	if req.MaxCount != nil && *req.MaxCount != 0 {
		maxCount = int(*req.MaxCount)
	}
	if maxCount < 1 || maxCount > MaxMaxCount {
		s.writeError(w, http.StatusBadRequest, CodeInvalidParams, fmt.Sprintf("max_count must be between 1 and %d.", MaxMaxCount))
		return
	}
	var cursor int64
	if req.Cursor != nil {
		cursor = *req.Cursor
	}
	if cursor < 0 {
		s.writeError(w, http.StatusBadRequest, CodeInvalidParams, "cursor must not be negative.")
		return
	}
	s.succeed(w, s.page(cursor, maxCount, fields))
}

// page selects one page of videos posted before cursor (UTC Unix ms; 0 means
// now), applying the ShortPages and DuplicateAcrossPages knobs. The caller
// holds s.mu.
func (s *Server) page(cursor int64, maxCount int, fields []string) videoPage {
	eff := cursor
	if eff == 0 {
		eff = s.now().UnixMilli()
	}
	size := maxCount
	if s.opts.ShortPages {
		switch s.listCalls % 3 {
		case 1:
			size = 0
		case 2:
			size = max(1, maxCount/2)
		}
	}
	s.listCalls++
	inclusive := s.opts.DuplicateAcrossPages && cursor != 0 && maxCount > 1
	start := len(s.videos)
	for i, v := range s.videos {
		if ms := v.CreateTime * 1000; ms < eff || (inclusive && ms == eff) {
			start = i
			break
		}
	}
	end := min(start+size, len(s.videos))
	out := videoPage{Videos: make([]map[string]any, 0, end-start), Cursor: eff}
	for _, v := range s.videos[start:end] {
		out.Videos = append(out.Videos, s.videoJSON(v, fields))
		out.Cursor = v.CreateTime * 1000
	}
	for _, v := range s.videos[end:] {
		if v.CreateTime*1000 < out.Cursor {
			out.HasMore = true
			break
		}
	}
	return out
}

// videoJSON renders the requested fields of v.
func (s *Server) videoJSON(v Video, fields []string) map[string]any {
	utm := "utm_campaign=tt4d_open_api&utm_source=" + s.utmSource()
	profile := "https://www.tiktok.com/@" + s.account.Username
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		switch f {
		case "id":
			m[f] = v.ID
		case "create_time":
			m[f] = v.CreateTime
		case "cover_image_url":
			exp := s.now().Add(6 * time.Hour).Unix()
			h := fnv.New64a()
			_, _ = fmt.Fprintf(h, "%s/%d", v.ID, exp)
			m[f] = fmt.Sprintf("https://p16-sign.tiktokcdn-us.com/tos-useast5-p-0068-tx/o%s~c5_300x400.jpeg?x-expires=%d&x-signature=%x", v.ID[len(v.ID)-10:], exp, h.Sum64())
		case "share_url":
			m[f] = profile + "/video/" + v.ID + "?" + utm
		case "video_description":
			m[f] = v.VideoDescription
		case "duration":
			m[f] = v.Duration
		case "height":
			m[f] = v.Height
		case "width":
			m[f] = v.Width
		case "title":
			m[f] = v.Title
		case "embed_html":
			m[f] = fmt.Sprintf(`<blockquote class="tiktok-embed" cite="%s/video/%s" data-video-id="%s" style="max-width: 605px;min-width: 325px;" > <section> <a target="_blank" title="@%s" href="%s?refer=embed">@%s</a> </section> </blockquote> <script async src="https://www.tiktok.com/embed.js"></script>`,
				profile, v.ID, v.ID, s.account.Username, profile, s.account.Username)
		case "embed_link":
			m[f] = "https://www.tiktok.com/player/v1/" + v.ID + "?" + utm
		case "like_count":
			m[f] = v.LikeCount
		case "comment_count":
			m[f] = v.CommentCount
		case "share_count":
			m[f] = v.ShareCount
		case "view_count":
			m[f] = v.ViewCount
		case "is_aigc":
			m[f] = v.IsAIGC
		}
	}
	return m
}

func (s *Server) utmSource() string {
	if s.opts.ClientKey != "" {
		return s.opts.ClientKey
	}
	return "aw0000"
}

// writeError writes a failed data envelope. The caller holds s.mu.
func (s *Server) writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, envelope{Data: struct{}{}, Error: apiError{Code: code, Message: msg, LogID: s.logID()}})
}

// logID returns a log id shaped like TikTok's: a UTC timestamp followed by 20
// upper-case hex digits. The caller holds s.mu.
func (s *Server) logID() string {
	s.logSeq++
	return s.now().UTC().Format("20060102150405") + fmt.Sprintf("F0A1%016X", s.logSeq)
}

// selectFields splits a comma-separated fields parameter, dropping blanks and
// repeats. It returns the first unknown field name, if any.
func selectFields(param string, known func(string) bool) (fields []string, unknown string) {
	seen := map[string]bool{}
	for f := range strings.SplitSeq(param, ",") {
		f = strings.TrimSpace(f)
		if f == "" || seen[f] {
			continue
		}
		if !known(f) {
			return nil, f
		}
		seen[f] = true
		fields = append(fields, f)
	}
	return fields, ""
}

func fieldsMessage(unknown string) string {
	if unknown != "" {
		return fmt.Sprintf("Invalid field %q in fields.", unknown)
	}
	return "The fields query parameter is required."
}

// parseList splits a comma-separated scope list into a set.
func parseList(s string) map[string]bool {
	set := map[string]bool{}
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			set[f] = true
		}
	}
	return set
}

// writeJSON writes v as JSON without HTML escaping, as the real API does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "failed to encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
